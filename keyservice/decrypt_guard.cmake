# The decryption failure guard (issue 13 point 1; common/decrypt_guard.h):
# its own proto file and gRPC service, its RocksDB store, and the client
# workers in their own process use. Included by keyservice/CMakeLists.txt.
sg_protoc(_sg_guard_gen GRPC PROTOS proto/decrypt_guard.proto COMMENT "decrypt guard API")
target_sources(sg_keyservice_proto PRIVATE ${_sg_guard_gen})
target_sources(sg_keyservice PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/decrypt_guard_config.cc
  ${CMAKE_CURRENT_LIST_DIR}/decrypt_guard_grpc_client.cc
  ${CMAKE_CURRENT_LIST_DIR}/decrypt_guard_grpc_server.cc
  ${CMAKE_CURRENT_LIST_DIR}/decrypt_guard_store.cc)
sg_expose_headers(sg_keyservice_proto GENERATED
  proto/decrypt_guard.pb.h proto/decrypt_guard.grpc.pb.h)
