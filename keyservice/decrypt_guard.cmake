# The decryption failure guard (issue 13 point 1; keyservice/decrypt_guard.h):
# its own proto file and gRPC service, its RocksDB store, and the client
# workers in their own process use. Included by keyservice/CMakeLists.txt.
set(_sg_guard_gen
  ${PROJECT_BINARY_DIR}/proto/decrypt_guard.pb.cc
  ${PROJECT_BINARY_DIR}/proto/decrypt_guard.pb.h
  ${PROJECT_BINARY_DIR}/proto/decrypt_guard.grpc.pb.cc
  ${PROJECT_BINARY_DIR}/proto/decrypt_guard.grpc.pb.h)
add_custom_command(
  OUTPUT ${_sg_guard_gen}
  COMMAND protobuf::protoc
    --cpp_out=${PROJECT_BINARY_DIR}
    --grpc_out=${PROJECT_BINARY_DIR}
    --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
    -I ${PROJECT_SOURCE_DIR}
    proto/decrypt_guard.proto
  DEPENDS ${PROJECT_SOURCE_DIR}/proto/decrypt_guard.proto
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  COMMENT "protoc: decrypt guard API"
  VERBATIM)
target_sources(sg_keyservice_proto PRIVATE ${_sg_guard_gen})
target_sources(sg_keyservice PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/decrypt_guard_config.cc
  ${CMAKE_CURRENT_LIST_DIR}/decrypt_guard_grpc_client.cc
  ${CMAKE_CURRENT_LIST_DIR}/decrypt_guard_grpc_server.cc
  ${CMAKE_CURRENT_LIST_DIR}/decrypt_guard_store.cc)
sg_expose_headers(sg_keyservice_proto GENERATED
  proto/decrypt_guard.pb.h proto/decrypt_guard.grpc.pb.h)
