#include "keyservice/rpc_audit.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/interceptor.h>

#include <chrono>

#include "keyservice/keyservice_x509.h"
#include "keyservice/rpc_roles.h"
#include "keyservice/rpc_server_credentials.h"
#include "proto/options.pb.h"

namespace sg::keyservice {
namespace {

namespace gp = google::protobuf;
constexpr size_t kMaxArguments = 4096;

const char* CodeName(grpc::StatusCode code) {
  static const char* const names[] = {
      "OK",        "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS",     "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION", "ABORTED",  "OUT_OF_RANGE",      "UNIMPLEMENTED",    "INTERNAL",
      "UNAVAILABLE", "DATA_LOSS",        "UNAUTHENTICATED"};
  auto i = static_cast<size_t>(code);
  return i < sizeof(names) / sizeof(names[0]) ? names[i] : "UNKNOWN";
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void Describe(const gp::Message& m, std::string& out);

void DescribeValue(const gp::Message& m, const gp::FieldDescriptor* f, int index, std::string& out) {
  const gp::Reflection* r = m.GetReflection();
  bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case gp::FieldDescriptor::CPPTYPE_STRING: {
      std::string v = rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
      if (f->type() == gp::FieldDescriptor::TYPE_BYTES) {
        out += "<" + std::to_string(v.size()) + " bytes sha256:" + Fingerprint(v) + ">";
      } else {
        out += Quote(v);
      }
      break;
    }
    case gp::FieldDescriptor::CPPTYPE_MESSAGE:
      out += "{";
      Describe(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f), out);
      out += "}";
      break;
    case gp::FieldDescriptor::CPPTYPE_BOOL:
      out += (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false";
      break;
    case gp::FieldDescriptor::CPPTYPE_ENUM:
      out += (rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f))->name();
      break;
    case gp::FieldDescriptor::CPPTYPE_INT32:
      out += std::to_string(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      break;
    case gp::FieldDescriptor::CPPTYPE_INT64:
      out += std::to_string(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
      break;
    case gp::FieldDescriptor::CPPTYPE_UINT32:
      out += std::to_string(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      break;
    case gp::FieldDescriptor::CPPTYPE_UINT64:
      out += std::to_string(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
      break;
    case gp::FieldDescriptor::CPPTYPE_DOUBLE:
      out += std::to_string(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f));
      break;
    case gp::FieldDescriptor::CPPTYPE_FLOAT:
      out += std::to_string(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f));
      break;
  }
}

void Describe(const gp::Message& m, std::string& out) {
  std::vector<const gp::FieldDescriptor*> fields;
  m.GetReflection()->ListFields(m, &fields);
  bool first = true;
  for (const auto* f : fields) {
    if (out.size() > kMaxArguments) return;
    out += first ? "" : " ";
    first = false;
    out += f->name() + ": ";
    if (f->options().GetExtension(smimegate::options::secret)) {
      out += "<redacted>";
      continue;
    }
    if (!f->is_repeated()) {
      DescribeValue(m, f, 0, out);
      continue;
    }
    out += "[";
    int n = m.GetReflection()->FieldSize(m, f);
    for (int i = 0; i < n && out.size() <= kMaxArguments; ++i) {
      if (i) out += ", ";
      DescribeValue(m, f, i, out);
    }
    out += "]";
  }
}

// Created for every call; records only those made with the admin role
// (the authorizer has let them through already). The caller's identity is
// read when the status is sent: the auth context is not attached to the
// server context yet when interceptors are created.
class AuditInterceptor : public grpc::experimental::Interceptor {
 public:
  AuditInterceptor(grpc::experimental::ServerRpcInfo* info, AuditSink& sink,
                   const std::string& trust_domain)
      : info_(info), sink_(sink), trust_domain_(trust_domain) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      Identify();
      // Every service on this server is generated from .proto files, so the
      // received message is a protobuf Message (gRPC hands it as void*). It
      // is destroyed before the status is sent: render it now.
      void* msg = methods->GetRecvMessage();
      if (admin_ && msg != nullptr) arguments_ = DescribeRequest(*static_cast<const gp::Message*>(msg));
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Identify();
      if (admin_) Record(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  void Identify() {
    if (identified_) return;
    auto ctx = info_->server_context()->auth_context();
    if (!ctx) return;
    identified_ = true;
    PeerIdentity peer = PeerFromAuthContext(*ctx);
    admin_ = RoleFromUris(peer.uris, trust_domain_) == kRoleAdmin;
    subject_ = std::move(peer.subject);
  }

  void Record(const grpc::Status& status) {
    AuditRecord r;
    r.time_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
    r.subject = subject_;
    r.role = std::string(kRoleAdmin);
    r.method = ShortMethod(info_->method());
    r.arguments = arguments_;
    r.result = CodeName(status.error_code());
    r.message = status.error_message();
    sink_.Record(r);
  }

  grpc::experimental::ServerRpcInfo* info_;
  AuditSink& sink_;
  const std::string& trust_domain_;
  bool identified_ = false;
  bool admin_ = false;
  std::string subject_;
  std::string arguments_;
};

class AuditFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  AuditFactory(AuditSink& sink, std::string trust_domain,
               std::function<bool(std::string_view)> admin_may_call)
      : sink_(sink), trust_domain_(std::move(trust_domain)), admin_may_call_(std::move(admin_may_call)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    if (admin_may_call_ && !admin_may_call_(info->method())) return nullptr;
    return new AuditInterceptor(info, sink_, trust_domain_);
  }

 private:
  AuditSink& sink_;
  std::string trust_domain_;
  std::function<bool(std::string_view)> admin_may_call_;
};

}  // namespace

std::string DescribeRequest(const google::protobuf::Message& message) {
  std::string out;
  Describe(message, out);
  if (out.size() > kMaxArguments) out = out.substr(0, kMaxArguments) + "...";
  return out;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeAuditInterceptorFactory(
    AuditSink& sink, std::string trust_domain,
    std::function<bool(std::string_view method)> admin_may_call) {
  return std::make_unique<AuditFactory>(sink, std::move(trust_domain), std::move(admin_may_call));
}

}  // namespace sg::keyservice
