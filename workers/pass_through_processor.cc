#include "workers/message_processor.h"

namespace sg::workers {

Result<std::vector<smimegate::v1::MessageRecord>> PassThroughProcessor::Process(
    smimegate::v1::MessageRecord record) {
  auto* note = record.add_notes();
  note->set_action("passed");
  note->set_rule("pass-through");
  std::vector<smimegate::v1::MessageRecord> out;
  out.push_back(std::move(record));
  return out;
}

}  // namespace sg::workers
