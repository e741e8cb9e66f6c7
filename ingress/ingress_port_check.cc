#include "ingress/ingress_port_check.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace sg::ingress {
namespace {

struct ListenLine {
  std::string local;  // "0100007F:0019", as the kernel prints it
  ino_t inode = 0;
};

// The LISTEN (state 0A) sockets of one /proc/net/tcp* file; a file that
// does not exist (no IPv6) has none.
Result<std::vector<ListenLine>> ReadListeners(const std::string& path, bool* found) {
  std::ifstream in(path);
  std::vector<ListenLine> out;
  *found = static_cast<bool>(in);
  if (!in) return out;
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout;
    unsigned long long inode = 0;
    if (!(fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode)) {
      return MakeError(ErrorCode::kIoError, path + ": unexpected line \"" + line + "\"");
    }
    if (state == "0A") out.push_back(ListenLine{local, static_cast<ino_t>(inode)});
  }
  return out;
}

}  // namespace

ino_t SocketInode(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return 0;
  return st.st_ino;
}

Result<bool> ForeignListenerSharesPort(const std::set<ino_t>& ours) {
  std::vector<ListenLine> all;
  bool any_file = false;
  for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    bool found = false;
    SG_ASSIGN_OR_RETURN(auto lines, ReadListeners(path, &found));
    any_file = any_file || found;
    all.insert(all.end(), lines.begin(), lines.end());
  }
  if (!any_file) return MakeError(ErrorCode::kIoError, "/proc/net/tcp cannot be read");
  std::set<std::string> our_addresses;
  for (const ListenLine& l : all) {
    if (ours.count(l.inode) != 0) our_addresses.insert(l.local);
  }
  for (const ListenLine& l : all) {
    if (ours.count(l.inode) == 0 && our_addresses.count(l.local) != 0) return true;
  }
  return false;
}

}  // namespace sg::ingress
