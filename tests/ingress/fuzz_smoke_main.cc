// A tiny stand-in for the libFuzzer driver, so the default g++ suite runs
// the fuzz targets: every seed file, then random mutations of the seeds for
// a few seconds. Deterministic (fixed RNG seed) so a failure reproduces.
//
// usage: <binary> [--seconds N] [seed files or directories...]
#include <chrono>
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

void RunOne(const std::string& s) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (std::filesystem::is_directory(a)) {
      for (const auto& e : std::filesystem::directory_iterator(a)) {
        if (e.is_regular_file()) seeds.push_back(ReadFile(e.path()));
      }
    } else {
      seeds.push_back(ReadFile(a));
    }
  }
  if (seeds.empty()) seeds.push_back(std::string("\0\0EHLO x\r\n", 10));
  for (const auto& s : seeds) RunOne(s);

  std::mt19937_64 rng(20261128);
  const char* tokens[] = {"\r\n", "\n", "\r", ".", "\r\n.\r\n", "<", ">", "@", "\"", "\\",
                          "MAIL FROM:", "RCPT TO:", " SIZE=", " NOTIFY=", " ORCPT=rfc822;",
                          "+2B", "\xc3\xa4", "\xff", "BDAT ", " LAST", "AUTH PLAIN "};
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (int batch = 0; batch < 256; ++batch, ++runs) {
      std::string s = seeds[rng() % seeds.size()];
      int mutations = 1 + static_cast<int>(rng() % 8);
      for (int m = 0; m < mutations; ++m) {
        size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
        switch (rng() % 5) {
          case 0:  // flip a byte
            if (!s.empty()) s[pos % s.size()] = static_cast<char>(rng());
            break;
          case 1:  // insert a random byte
            s.insert(pos, 1, static_cast<char>(rng()));
            break;
          case 2:  // delete a range
            if (!s.empty()) s.erase(pos % s.size(), 1 + rng() % 8);
            break;
          case 3:  // insert a protocol token
            s.insert(pos, tokens[rng() % (sizeof tokens / sizeof tokens[0])]);
            break;
          case 4:  // splice with another seed
            s += seeds[rng() % seeds.size()].substr(0, 64);
            break;
        }
      }
      RunOne(s);
    }
  }
  std::printf("fuzz smoke: %zu seeds, %llu mutated runs, no failure\n", seeds.size(),
              static_cast<unsigned long long>(runs));
  return 0;
}
