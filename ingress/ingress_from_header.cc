#include "ingress/ingress_from_header.h"

#include <gmime/gmime.h>

#include <mutex>

#include "common/ascii.h"
#include "ingress/ingress_headers.h"
#include "ingress/ingress_steps.h"

namespace sg::ingress {
namespace {

void Collect(InternetAddressList* list, std::vector<std::string>* out) {
  for (int i = 0; i < internet_address_list_length(list); ++i) {
    InternetAddress* ia = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
      const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
      if (addr != nullptr && *addr != '\0') out->push_back(AsciiLower(addr));
    } else if (INTERNET_ADDRESS_IS_GROUP(ia)) {
      Collect(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), out);
    }
  }
}

}  // namespace

Result<std::vector<std::string>> FromMailboxes(std::string_view message) {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
  std::vector<std::string> out;
  for (const std::string& value : HeaderFieldValues(message, "From")) {
    const size_t before = out.size();
    InternetAddressList* list = internet_address_list_parse(nullptr, value.c_str());
    if (list != nullptr) {
      Collect(list, &out);
      g_object_unref(list);
    }
    if (out.size() == before) {
      return MakeError(ErrorCode::kInvalidArgument, "a From header field has no mailbox");
    }
  }
  return out;
}

}  // namespace sg::ingress
