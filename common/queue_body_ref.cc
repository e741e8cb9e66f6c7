#include "common/queue_body_ref.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace sg::queue {

namespace {

using google::protobuf::internal::WireFormatLite;

constexpr int kMessageField = 2;  // MessageRecord.message

std::string Describe(const smimegate::v1::BodyRef& ref) {
  return "body reference " + ref.topic() + "/" + std::to_string(ref.partition()) + "@" +
         std::to_string(ref.offset());
}

}  // namespace

std::optional<std::string_view> SerializedMessageField(std::string_view serialized) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(serialized.data()),
                                            static_cast<int>(serialized.size()));
  in.SetTotalBytesLimit(static_cast<int>(serialized.size()));
  std::optional<std::string_view> found;
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;  // end (or a malformed tag: ReadTag gives 0 too)
    if (WireFormatLite::GetTagFieldNumber(tag) == kMessageField &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t len = 0;
      if (!in.ReadVarint32(&len)) return std::nullopt;
      const int at = in.CurrentPosition();
      if (static_cast<size_t>(at) + len > serialized.size()) return std::nullopt;
      found = serialized.substr(static_cast<size_t>(at), len);  // the last one wins, as in parsing
      if (!in.Skip(static_cast<int>(len))) return std::nullopt;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return std::nullopt;
    }
  }
  if (in.CurrentPosition() != static_cast<int>(serialized.size())) return std::nullopt;
  return found;
}

std::string BodyDigest(std::string_view body) {
  std::string md(EVP_MAX_MD_SIZE, '\0');
  unsigned int len = 0;
  if (EVP_Digest(body.data(), body.size(), reinterpret_cast<unsigned char*>(md.data()), &len,
                 EVP_sha256(), nullptr) != 1) {
    std::abort();  // SHA-256 with valid arguments cannot fail: a broken OpenSSL
  }
  md.resize(len);
  return md;
}

std::optional<RecordRef> ShareBody(const Record& source, std::string_view source_body,
                                   smimegate::v1::MessageRecord& out) {
  const std::string& body = out.message();
  if (body.empty() || body.size() != source_body.size() ||
      std::memcmp(body.data(), source_body.data(), body.size()) != 0) {
    return std::nullopt;
  }
  auto* ref = out.mutable_body_ref();
  ref->set_topic(source.topic);
  ref->set_partition(source.partition);
  ref->set_offset(source.offset);
  ref->set_length(body.size());
  out.clear_message();
  return RecordRef{source.topic, source.partition, source.offset};
}

Status ResolveBody(Queue& queue, std::string_view key, smimegate::v1::MessageRecord& rec,
                   std::string_view sha256) {
  if (!rec.has_body_ref()) return OkStatus();
  const smimegate::v1::BodyRef& ref = rec.body_ref();
  auto stored = queue.ReadRecord({ref.topic(), ref.partition(), ref.offset()});
  if (!stored.ok()) {
    return MakeError(stored.error().code, Describe(ref) + ": " + stored.error().message);
  }
  if (stored->key != key) {
    return MakeError(ErrorCode::kCorruption, Describe(ref) + ": that record belongs to message " +
                                                 stored->key + ", not " + std::string(key));
  }
  smimegate::v1::MessageRecord source;
  if (!source.ParseFromString(stored->value)) {
    return MakeError(ErrorCode::kCorruption,
                     Describe(ref) + ": that record is not a MessageRecord");
  }
  if (source.message().size() != ref.length()) {
    return MakeError(ErrorCode::kCorruption, Describe(ref) + ": its message has " +
                                                 std::to_string(source.message().size()) +
                                                 " bytes, the reference says " +
                                                 std::to_string(ref.length()));
  }
  if (!sha256.empty() && BodyDigest(source.message()) != sha256) {
    return MakeError(ErrorCode::kCorruption,
                     Describe(ref) +
                         ": its message's SHA-256 is not the one the reference "
                         "carries (another record at that offset)");
  }
  rec.set_allocated_message(source.release_message());
  rec.clear_body_ref();
  return OkStatus();
}

}  // namespace sg::queue
