// CRC32C throughput of the RocksDB the gateway links (Debian's librocksdb)
// against the CPU's own CRC32 instruction (SSE4.2), same data, same run.
//
// Every record the embedded queue writes passes RocksDB's CRC32C at least
// once (the write-ahead log; SST blocks again when a memtable is flushed).
// Debian builds RocksDB portable, without SSE4.2, so it computes CRC32C in
// software; its LOG says "Fast CRC32 supported: Not supported on x86". This
// bench gives the cost of that choice (issue 21, docs/benchmarks.md "RocksDB
// and CRC32C"). The baseline is a plain one-stream loop over _mm_crc32_u64,
// the simplest use of the instruction (RocksDB's own fast path interleaves
// three streams and is faster still), checked to give the same checksum.
//
// Run: build/bench/queue/crc32c_bench --benchmark_repetitions=3
// The ratio to quote is bytes_per_second(HardwareLoop) / bytes_per_second(RocksDb).
#include <benchmark/benchmark.h>
#include <nmmintrin.h>
#include <rocksdb/file_checksum.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

namespace {

constexpr size_t kBytes = 1 << 20;  // a 1 MB message body

std::string Data() {
  std::string d(kBytes, '\0');
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<char>((i * 131) ^ (i >> 7));
  return d;
}

// CRC32C as RocksDB's checksum generator reports it (4 bytes, big-endian).
uint32_t RocksDbCrc(const std::string& data) {
  rocksdb::FileChecksumGenContext ctx;
  auto gen = rocksdb::GetFileChecksumGenCrc32cFactory()->CreateFileChecksumGenerator(ctx);
  gen->Update(data.data(), data.size());
  gen->Finalize();
  std::string c = gen->GetChecksum();
  if (c.size() != 4) return 0;
  uint32_t v = 0;
  for (unsigned char b : c) v = (v << 8) | b;
  return v;
}

__attribute__((target("sse4.2"))) uint32_t HardwareCrc(const char* p, size_t n) {
  uint64_t c = 0xFFFFFFFFu;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    c = _mm_crc32_u64(c, v);
  }
  auto c32 = static_cast<uint32_t>(c);
  for (; i < n; ++i) c32 = _mm_crc32_u8(c32, static_cast<unsigned char>(p[i]));
  return ~c32;
}

void BM_RocksDb(benchmark::State& state) {
  std::string d = Data();
  for (auto _ : state) benchmark::DoNotOptimize(RocksDbCrc(d));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBytes));
}

void BM_HardwareLoop(benchmark::State& state) {
  if (!__builtin_cpu_supports("sse4.2")) {
    state.SkipWithError("this CPU has no SSE4.2");
    return;
  }
  std::string d = Data();
  if (HardwareCrc(d.data(), d.size()) != RocksDbCrc(d)) {
    state.SkipWithError("the hardware loop's CRC32C differs from RocksDB's");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(HardwareCrc(d.data(), d.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBytes));
}

BENCHMARK(BM_RocksDb);
BENCHMARK(BM_HardwareLoop);

}  // namespace

BENCHMARK_MAIN();
