#include "common/kafka_properties.h"

#include <array>
#include <string_view>

namespace sg::queue {
namespace {

// What common/kafka_queue.cc sets on its handles (with the librdkafka
// aliases of the same properties), and the config key that controls it.
struct Owned {
  std::string_view property;
  std::string_view instead;  // what to use instead ("" when nothing)
};
constexpr std::array<Owned, 23> kOwned{{
    {"bootstrap.servers", "queue.kafka.brokers"},
    {"metadata.broker.list", "queue.kafka.brokers"},
    {"client.id", ""},
    {"message.max.bytes", "queue.max_record_size"},
    {"receive.message.max.bytes", "queue.max_record_size"},
    {"enable.idempotence", ""},
    {"acks", ""},
    {"request.required.acks", ""},
    {"linger.ms", "queue.kafka.linger"},
    {"queue.buffering.max.ms", "queue.kafka.linger"},
    {"message.timeout.ms", "queue.kafka.delivery_timeout"},
    {"delivery.timeout.ms", "queue.kafka.delivery_timeout"},
    {"compression.type", ""},
    {"compression.codec", ""},
    {"group.id", "the stage's consumer_group"},
    {"enable.auto.commit", ""},
    {"enable.auto.offset.store", ""},
    {"auto.offset.reset", ""},
    {"partition.assignment.strategy", ""},
    {"session.timeout.ms", "queue.kafka.session_timeout"},
    {"heartbeat.interval.ms", "queue.kafka.session_timeout"},
    {"max.partition.fetch.bytes", ""},
    {"enable.partition.eof", ""},
}};

}  // namespace

Status CheckKafkaProperties(const std::map<std::string, std::string>& properties) {
  for (const auto& [key, value] : properties) {
    if (key == "group.instance.id") {
      // One id for every consumer of the process: the worker threads'
      // members of one group would fence each other out of it.
      return MakeError(ErrorCode::kInvalidArgument,
                       "queue.kafka.properties.group.instance.id: one id would be shared by every "
                       "consumer of this process (they would fence each other out of their "
                       "group); use queue.kafka.static_membership: true, which gives each "
                       "consumer its own id from the pod name");
    }
    for (const auto& owned : kOwned) {
      if (key != owned.property) continue;
      std::string msg = "queue.kafka.properties." + key +
                        ": smimegate sets this property itself and would replace it";
      if (!owned.instead.empty()) {
        msg += "; use ";
        msg += owned.instead;
      }
      return MakeError(ErrorCode::kInvalidArgument, msg);
    }
  }
  return OkStatus();
}

}  // namespace sg::queue
