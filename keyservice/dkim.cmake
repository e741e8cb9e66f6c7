# DKIM keys (issue 22, docs/dkim.md): their own proto files (the gRPC service
# Dkim and the store record), the keyservice side and its gRPC client and
# server. Included by keyservice/CMakeLists.txt.
sg_protoc(_sg_dkim_gen GRPC PROTOS proto/dkim.proto COMMENT "DKIM API")
sg_protoc(_sg_dkim_store PROTOS keyservice/dkim_store.proto COMMENT "DKIM store records")
target_sources(sg_keyservice_proto PRIVATE ${_sg_dkim_gen} ${_sg_dkim_store})
target_sources(sg_keyservice PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/dkim_keys.cc
  ${CMAKE_CURRENT_LIST_DIR}/dkim_grpc_client.cc
  ${CMAKE_CURRENT_LIST_DIR}/dkim_grpc_server.cc
  ${CMAKE_CURRENT_LIST_DIR}/key_service_dkim.cc)
sg_expose_headers(sg_keyservice_proto GENERATED
  proto/dkim.pb.h proto/dkim.grpc.pb.h keyservice/dkim_store.pb.h)
