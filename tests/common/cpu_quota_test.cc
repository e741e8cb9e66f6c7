// common/cpu_quota.h on fake cgroup trees (v2 and v1) in a temp dir.
#include "common/cpu_quota.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/temp_dir.h"

namespace sg {
namespace {

class CpuQuotaTest : public ::testing::Test {
 protected:
  void Write(const std::string& rel, const std::string& text) {
    const std::filesystem::path p = dir_.Sub(rel);
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  sg::testing::TempDir dir_;
};

TEST_F(CpuQuotaTest, V2QuotaOfTheProcessCgroup) {
  Write("kubepods/pod1/ctr/cpu.max", "150000 100000\n");
  Write("kubepods/pod1/cpu.max", "max 100000\n");
  auto limit = CgroupCpuLimit("0::/kubepods/pod1/ctr\n", dir_.path());
  ASSERT_TRUE(limit.has_value());
  EXPECT_DOUBLE_EQ(*limit, 1.5);
  EXPECT_EQ(CpusWithin(64, limit), 2u);  // 1.5 CPUs: two threads keep the quota busy
}

TEST_F(CpuQuotaTest, V2LowestLimitUpTheTreeWins) {
  Write("a/b/cpu.max", "400000 100000\n");
  Write("a/cpu.max", "100000 100000\n");
  Write("cpu.max", "max 100000\n");
  EXPECT_EQ(CpusWithin(64, CgroupCpuLimit("0::/a/b\n", dir_.path())), 1u);
}

TEST_F(CpuQuotaTest, V2NoLimitAndNamespacedRoot) {
  Write("cpu.max", "max 100000\n");
  EXPECT_FALSE(CgroupCpuLimit("0::/\n", dir_.path()).has_value());
  EXPECT_EQ(CpusWithin(8, CgroupCpuLimit("0::/\n", dir_.path())), 8u);
  Write("cpu.max", "30000 100000\n");  // a container's own namespace: path "/"
  EXPECT_EQ(CpusWithin(8, CgroupCpuLimit("0::/\n", dir_.path())), 1u);
}

TEST_F(CpuQuotaTest, V1QuotaFromTheCpuController) {
  Write("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "300000\n");
  Write("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  const std::string self =
      "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n";
  auto limit = CgroupCpuLimit(self, dir_.path());
  ASSERT_TRUE(limit.has_value());
  EXPECT_DOUBLE_EQ(*limit, 3.0);
  EXPECT_EQ(CpusWithin(64, limit), 3u);
  EXPECT_EQ(CpusWithin(2, limit), 2u);  // never more than the affinity allows
}

TEST_F(CpuQuotaTest, HybridV1QuotaWhateverTheOrderOfTheLines) {
  // cgroup v1 with the cpu controller, v2 mounted beside it without one (the
  // "0::" line may come first): the v1 quota counts.
  Write("cpu/bench/w1/cpu.cfs_quota_us", "30000\n");
  Write("cpu/bench/w1/cpu.cfs_period_us", "100000\n");
  for (const std::string self : {"0::/\n1:cpu:/bench/w1\n", "1:cpu:/bench/w1\n0::/\n"}) {
    auto limit = CgroupCpuLimit(self, dir_.path());
    ASSERT_TRUE(limit.has_value()) << self;
    EXPECT_DOUBLE_EQ(*limit, 0.3) << self;
  }
  Write("cpu.max", "20000 100000\n");  // both limit: the lower wins
  EXPECT_DOUBLE_EQ(*CgroupCpuLimit("0::/\n1:cpu:/bench/w1\n", dir_.path()), 0.2);
}

TEST_F(CpuQuotaTest, V1UnlimitedAndUnreadableMeanNoLimit) {
  Write("cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  Write("cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  EXPECT_FALSE(CgroupCpuLimit("4:cpu,cpuacct:/\n", dir_.path()).has_value());
  EXPECT_FALSE(CgroupCpuLimit("0::/missing\n", dir_.path()).has_value());
  EXPECT_FALSE(CgroupCpuLimit("garbage", dir_.path()).has_value());
  Write("bad/cpu.max", "abc 100000\n");
  EXPECT_FALSE(CgroupCpuLimit("0::/bad\n", dir_.path()).has_value());
}

TEST_F(CpuQuotaTest, AvailableCpusIsAtLeastOneAndAtMostTheCores) {
  EXPECT_GE(AvailableCpus(), 1u);
  EXPECT_LE(AvailableCpus(), std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace
}  // namespace sg
