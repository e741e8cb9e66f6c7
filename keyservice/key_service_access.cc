// KeyServiceImpl: access to the keyservice itself: client credentials for
// the gRPC API, the audit trail of admin calls, KEK rotation.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "keyservice/key_service_impl.h"
#include "keyservice/rpc_roles.h"

namespace sg::keyservice {

Result<IssuedCredentials> KeyServiceImpl::IssueCredentials(const CredentialsRequest& request) {
  if (!config_.tls.client_ca_file.empty()) {
    return MakeError(ErrorCode::kUnsupported,
                     "client certificates come from your own CA (keyservice.tls.client_ca_file " +
                         config_.tls.client_ca_file + "); issue them there, with the role as the URI "
                         "SAN " + RoleUri(config_.tls.trust_domain, "<role>"));
  }
  if (!IsIssuableRole(request.role)) {
    std::string roles;
    for (const auto& r : IssuableRoles()) roles += (roles.empty() ? "" : ", ") + r;
    return MakeError(ErrorCode::kInvalidArgument,
                     "unknown role \"" + request.role + "\" (expected " + roles + ")");
  }
  auto validity = request.validity_days == 0 ? config_.tls.client_validity
                                             : std::chrono::hours(24 * request.validity_days);
  if (request.validity_days > 3650) {
    return MakeError(ErrorCode::kInvalidArgument, "validity must be at most 3650 days");
  }
  IssuedCredentials out;
  SG_ASSIGN_OR_RETURN(out.certificate_pem, internal_ca_->IssueClient(request.role, request.name,
                                                                     request.public_key_der, validity));
  out.ca_pem = internal_ca_->CaPem();
  spdlog::info("keyservice: issued {} credentials for \"{}\"", request.role, request.name);
  return out;
}

Result<std::vector<AuditRecord>> KeyServiceImpl::ListAudit(int64_t since_us, uint32_t limit) {
  SG_ASSIGN_OR_RETURN(auto stored, store_->ListAudit(since_us, limit == 0 ? 1000 : limit));
  std::vector<AuditRecord> out;
  out.reserve(stored.size());
  for (const auto& s : stored) {
    out.push_back(AuditRecord{s.time_us(), s.subject(), s.role(), s.method(), s.arguments(),
                              s.result(), s.message()});
  }
  return out;
}

void KeyServiceImpl::Record(const AuditRecord& record) {
  nlohmann::json line = {{"time_us", record.time_us}, {"subject", record.subject},
                         {"role", record.role},       {"method", record.method},
                         {"arguments", record.arguments}, {"result", record.result}};
  if (!record.message.empty()) line["message"] = record.message;
  // Replace invalid UTF-8 instead of throwing: arguments may carry any bytes.
  spdlog::info("audit {}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  store::StoredAudit s;
  s.set_time_us(record.time_us);
  s.set_subject(record.subject);
  s.set_role(record.role);
  s.set_method(record.method);
  s.set_arguments(record.arguments);
  s.set_result(record.result);
  s.set_message(record.message);
  auto st = store_->AppendAudit(s);
  if (!st.ok()) {
    metrics_.errors.WithLabels({"audit", std::string(ErrorCodeName(st.error().code))}).Inc();
    spdlog::error("keyservice: audit record not stored: {}", st.error().ToString());
  }
}

Result<KekRotationResult> KeyServiceImpl::RotateKek() { return RotateKek(nullptr); }

Result<KekRotationResult> KeyServiceImpl::RotateKek(const std::function<void(uint32_t)>& progress) {
  std::lock_guard<std::mutex> one_at_a_time(rotate_mu_);
  KekRotationResult result;
  result.kek_id = kek_.id();
  SG_ASSIGN_OR_RETURN(auto keys, store_->ListKeys(""));
  for (auto& k : keys) {
    if (kek_.SealedUnderCurrent(k.sealed_private_key())) {
      ++result.already_current;
      continue;
    }
    // Stored keys change only here (serialised by rotate_mu_); the stripe
    // orders the write with readers of the owner.
    std::lock_guard<std::mutex> lock(StripeFor(k.owner()));
    auto sealed = kek_.Reseal(k.sealed_private_key(), KeyAad(k.owner(), k.key_id()));
    if (!sealed.ok()) {
      return MakeError(sealed.error().code, "keyservice: key " + k.key_id() + " of " + k.owner() +
                                                ": " + sealed.error().message);
    }
    k.set_sealed_private_key(std::move(*sealed));
    SG_RETURN_IF_ERROR(store_->PutKey(k));
    ++result.resealed;
    if (progress) progress(result.resealed);
  }
  SG_ASSIGN_OR_RETURN(int dkim_records, ResealDkimKeys());
  result.resealed += static_cast<uint32_t>(dkim_records);
  SG_ASSIGN_OR_RETURN(int ca_records, ca_->ResealKeys(kek_));
  result.resealed += static_cast<uint32_t>(ca_records);
  SG_ASSIGN_OR_RETURN(int internal_records, internal_ca_->ResealKeys(kek_));
  result.resealed += static_cast<uint32_t>(internal_records);
  // Last: the check value under the new KEK marks the rotation complete (a
  // start with only the old KEK is refused from here on).
  SG_ASSIGN_OR_RETURN(auto check, store_->GetMeta(kMetaKekCheck));
  if (check && !kek_.SealedUnderCurrent(*check)) {
    SG_ASSIGN_OR_RETURN(std::string resealed, kek_.Reseal(*check, kMetaKekCheck));
    SG_RETURN_IF_ERROR(store_->PutMeta(kMetaKekCheck, resealed));
  }
  spdlog::info("keyservice: KEK rotation to {} complete: {} records re-sealed, {} already current",
               result.kek_id, result.resealed, result.already_current);
  return result;
}

}  // namespace sg::keyservice
