// smimegate-test-slapd: the test slapd (slapd_test_server.h) as a program,
// for the Python end-to-end tests (tests/integration/discovery_ldap_test.py).
//
//   smimegate-test-slapd --dir DIR --suffix dc=partner,dc=example
//       --bind-dn cn=gateway,dc=partner,dc=example --ldif ENTRIES.ldif --port-file FILE
//
// Sets slapd up in DIR (server.crt is the CA file to trust, password the
// bind password), starts it, writes "<ldap port> <ldaps port>" to FILE and
// runs until SIGTERM or SIGINT, then stops slapd. Exit 1 when slapd cannot
// be set up, 2 on bad arguments, 77 when slapd is not installed.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "tests/support/slapd_test_server.h"

int main(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  for (const char* need : {"--dir", "--suffix", "--bind-dn", "--ldif", "--port-file"}) {
    if (args.count(need) == 0) {
      std::cerr << "smimegate-test-slapd: missing " << need << "\n";
      return 2;
    }
  }
  if (!sg::testing::SlapdTestServer::Installed()) {
    std::cerr << "smimegate-test-slapd: slapd is not installed (scripts/setup-deps.sh)\n";
    return 77;
  }
  sigset_t stop_set;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGTERM);
  sigaddset(&stop_set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_set, nullptr);  // before any thread: sigwait below
  sg::testing::SlapdOptions options;
  options.suffix = args["--suffix"];
  options.bind_dn = args["--bind-dn"];
  std::ifstream in(args["--ldif"]);
  std::stringstream entries;
  entries << in.rdbuf();
  options.entries_ldif = entries.str();
  sg::testing::SlapdTestServer slapd(args["--dir"], options);
  if (!slapd.Setup()) {
    std::cerr << "smimegate-test-slapd: slapd could not be set up in " << args["--dir"] << "\n";
    return 1;
  }
  const std::string port_file = args["--port-file"];
  {
    std::ofstream out(port_file + ".tmp");
    out << slapd.ldap_port() << " " << slapd.ldaps_port() << "\n";
  }
  if (std::rename((port_file + ".tmp").c_str(), port_file.c_str()) != 0) {
    std::cerr << "smimegate-test-slapd: cannot write " << port_file << "\n";
    return 1;
  }
  int sig = 0;
  sigwait(&stop_set, &sig);
  return 0;  // ~SlapdTestServer stops slapd
}
