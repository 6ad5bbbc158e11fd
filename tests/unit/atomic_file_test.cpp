// AtomicFile: the destination is either untouched or completely replaced; a failed write (here a
// file-size limit, the same path as ENOSPC) is a clear IoError and leaves no temporary file behind.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "flame/core/error.h"
#include "flame/io/atomic_file.h"
#include "support/test_support.h"

namespace flame {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t files_in(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

std::string fresh_dir(const std::string& name) {
  const std::string dir = test::scratch_dir(name);
  for (const auto& e : std::filesystem::directory_iterator(dir)) std::filesystem::remove_all(e.path());
  return dir;
}

TEST(AtomicFile, WritesAndReplaces) {
  const std::string dir = fresh_dir("atomic_file_basic");
  const std::string path = dir + "/out.bin";
  io::write_file_atomically(path, "first");
  EXPECT_EQ(read_all(path), "first");
  {
    io::AtomicFile f(path);
    f.write("sec");
    f.write_zeros(2);
    std::string big(3 << 20, 'x');  // larger than the internal buffer
    f.write(big);
    EXPECT_EQ(f.size(), 5u + big.size());
    EXPECT_EQ(read_all(path), "first");  // untouched until commit
    f.commit();
  }
  const std::string got = read_all(path);
  ASSERT_EQ(got.size(), 5u + (3u << 20));
  EXPECT_EQ(got.substr(0, 5), std::string("sec\0\0", 5));
  EXPECT_EQ(files_in(dir), 1u);
}

TEST(AtomicFile, AbandonedWriteLeavesDestinationAndNoTemp) {
  const std::string dir = fresh_dir("atomic_file_abandon");
  const std::string path = dir + "/out.bin";
  io::write_file_atomically(path, "keep");
  {
    io::AtomicFile f(path);
    f.write("partial");
  }  // no commit: e.g. an exception while producing the data
  EXPECT_EQ(read_all(path), "keep");
  EXPECT_EQ(files_in(dir), 1u);
}

TEST(AtomicFile, MissingFolderIsAnIoError) {
  try {
    io::AtomicFile f(fresh_dir("atomic_file_missing") + "/no/such/folder/out.bin");
    ADD_FAILURE() << "created a file in a missing folder";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create temporary file"), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, WriteFailureIsAClearIoErrorAndCleansUp) {
  const std::string dir = fresh_dir("atomic_file_limit");
  const std::string path = dir + "/out.bin";
  io::write_file_atomically(path, "old");
  // A file-size limit makes write() fail (EFBIG) exactly where a full disk would (ENOSPC).
  struct rlimit old_limit {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 1 << 20;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  std::string message;
  try {
    io::AtomicFile f(path);
    f.write(std::string(4 << 20, 'y'));
    f.commit();
  } catch (const IoError& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("write failed after"), std::string::npos) << message;
  EXPECT_EQ(read_all(path), "old");
  EXPECT_EQ(files_in(dir), 1u);
}

}  // namespace
}  // namespace flame
