// A tiny stand-in for the libFuzzer driver, so the default g++ suite runs
// every fuzz target (tests/support/fuzz.cmake): every seed file, then random
// mutations of the seeds for a few seconds. Deterministic (fixed RNG seed) so
// a failure reproduces; on a crash the failing input is written to
// ./fuzz-smoke-crash-input, to be replayed and committed as a seed.
//
// usage: <binary> [--seconds N] [--dict FILE] [seed files or directories...]
//
// FILE is a libFuzzer dictionary (lines `name="value"` with \\, \" and \xNN
// escapes); its tokens are inserted by the mutator, as libFuzzer would.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One dictionary line: the quoted value with its escapes resolved, or "" to skip.
std::string DictEntry(const std::string& line) {
  size_t open = line.find('"');
  size_t close = line.rfind('"');
  if (line.empty() || line[0] == '#' || open == std::string::npos || close <= open) return "";
  std::string out;
  for (size_t i = open + 1; i < close; ++i) {
    if (line[i] != '\\' || i + 1 >= close) {
      out += line[i];
    } else if (line[i + 1] == 'x' && i + 3 < close && HexDigit(line[i + 2]) >= 0 &&
               HexDigit(line[i + 3]) >= 0) {
      out += static_cast<char>(HexDigit(line[i + 2]) * 16 + HexDigit(line[i + 3]));
      i += 3;
    } else {
      out += line[++i];
    }
  }
  return out;
}

std::vector<std::string> ReadDict(const std::string& path) {
  std::vector<std::string> tokens;
  std::ifstream f(path);
  if (!f) {
    std::fprintf(stderr, "fuzz smoke: cannot read dictionary %s\n", path.c_str());
    std::exit(2);
  }
  for (std::string line; std::getline(f, line);) {
    std::string t = DictEntry(line);
    if (!t.empty()) tokens.push_back(t);
  }
  return tokens;
}

const std::string* g_current = nullptr;  // the input being run, for the crash handler

// On abort or a fault: the input goes to ./fuzz-smoke-crash-input (only
// async-signal-safe calls), then the default action ends the process.
void OnCrash(int sig) {
  if (g_current) {
    int fd = ::open("fuzz-smoke-crash-input", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      size_t done = 0;
      while (done < g_current->size()) {
        ssize_t n = ::write(fd, g_current->data() + done, g_current->size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      ::close(fd);
    }
    static const char kMsg[] = "fuzz smoke: failing input written to ./fuzz-smoke-crash-input\n";
    if (::write(2, kMsg, sizeof kMsg - 1) < 0) {
      // nothing more to do in a signal handler
    }
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void RunOne(const std::string& s) {
  g_current = &s;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  g_current = nullptr;
}

void Mutate(std::string& s, std::mt19937_64& rng, const std::vector<std::string>& seeds,
            const std::vector<std::string>& tokens) {
  size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
  switch (rng() % 6) {
    case 0:  // flip a byte
      if (!s.empty()) s[pos % s.size()] = static_cast<char>(rng());
      break;
    case 1:  // insert a random byte
      s.insert(pos, 1, static_cast<char>(rng()));
      break;
    case 2:  // delete a range
      if (!s.empty()) s.erase(pos % s.size(), 1 + rng() % 8);
      break;
    case 3:  // insert a token
      s.insert(pos, tokens[rng() % tokens.size()]);
      break;
    case 4:  // splice with another seed
      s += seeds[rng() % seeds.size()].substr(0, 64);
      break;
    case 5:  // flip a bit
      if (!s.empty()) s[pos % s.size()] ^= static_cast<char>(1u << (rng() % 8));
      break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  std::vector<std::string> seeds;
  std::vector<std::string> tokens = {"\r\n", "\n", "\r", std::string(1, '\0'), "\xff", "0"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--dict" && i + 1 < argc) {
      for (auto& t : ReadDict(argv[++i])) tokens.push_back(std::move(t));
    } else if (std::filesystem::is_directory(a)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(a)) {
        if (e.is_regular_file()) seeds.push_back(ReadFile(e.path()));
      }
    } else if (std::filesystem::is_regular_file(a)) {
      seeds.push_back(ReadFile(a));
    } else {
      std::fprintf(stderr, "fuzz smoke: no such seed file or directory: %s\n", a.c_str());
      return 2;
    }
  }
  if (seeds.empty()) seeds.emplace_back();
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, OnCrash);
  for (const auto& s : seeds) RunOne(s);

  std::mt19937_64 rng(20261128);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (int batch = 0; batch < 64; ++batch, ++runs) {
      std::string s = seeds[rng() % seeds.size()];
      int mutations = 1 + static_cast<int>(rng() % 8);
      for (int m = 0; m < mutations; ++m) Mutate(s, rng, seeds, tokens);
      RunOne(s);
    }
  }
  std::printf("fuzz smoke: %zu seeds, %llu mutated runs, no failure\n", seeds.size(),
              static_cast<unsigned long long>(runs));
  return 0;
}
