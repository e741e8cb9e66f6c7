// smimegate-bench-smtp: SMTP load generator + delivery sink (issue #8, Part L).
// Parses the command line, builds the message factory, runs the driver.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "bench/e2e/loadgen/loadgen_driver.h"
#include "bench/e2e/loadgen/loadgen_message.h"
#include "bench/e2e/loadgen/loadgen_options.h"

int main(int argc, char** argv) {
  using namespace sg::bench::loadgen;
  // A server closing a socket we write to must be an error code, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  ParseOutcome parsed = ParseOptions(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  const Options& o = *parsed.options;

  MessageFactory::Config mc;
  mc.run_id = o.run_id;
  mc.from = o.from;
  mc.to = o.to;
  mc.size = o.size;
  if (!o.template_file.empty()) {
    std::ifstream f(o.template_file, std::ios::binary);
    std::ostringstream text;
    text << f.rdbuf();
    if (!f) {
      std::fprintf(stderr, "smimegate-bench-smtp: --template: cannot read '%s'\n",
                   o.template_file.c_str());
      return 2;
    }
    mc.template_text = text.str();
  }
  MessageFactory factory(std::move(mc));
  Driver driver(o, factory);
  return driver.Run();
}
