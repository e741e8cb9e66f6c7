#include "common/message_log.h"

namespace sg::log {

const char* DirectionName(smimegate::v1::Direction d) {
  return d == smimegate::v1::DIRECTION_INBOUND    ? "inbound"
         : d == smimegate::v1::DIRECTION_OUTBOUND ? "outbound"
                                                  : "unspecified";
}

Event MessageEvent(std::string_view stage, const smimegate::v1::Envelope& env) {
  Event e(stage);
  e.Field("message_id", env.message_id()).Field("direction", DirectionName(env.direction()));
  return e;
}

}  // namespace sg::log
