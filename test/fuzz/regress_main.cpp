// A main() for a fuzz target without libFuzzer: runs every file given (directories: every file in
// them, recursively, in name order) once through LLVMFuzzerTestOneInput. Built with the normal
// compiler, so the unit tests (and their ASan run) replay the crash reproducers and the seed corpora.
// Each input runs on a thread with a 1 MiB stack (as run-fuzzer.sh runs libFuzzer on a small one):
// recursion that grows with the input then shows on a reproducer of tens of KiB, not only on a
// message of megabytes against the usual 8 MiB.
//
// usage: fuzz_regress_TARGET [--min N] PATH...   fails when fewer than N inputs were found (default 1)
#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::filesystem::path> inputs(const std::filesystem::path& p) {
  std::vector<std::filesystem::path> out;
  if (std::filesystem::is_directory(p)) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(p))
      if (e.is_regular_file()) out.push_back(e.path());
    std::sort(out.begin(), out.end());
  } else if (std::filesystem::exists(p)) {
    out.push_back(p);
  }
  return out;
}

constexpr std::size_t kStackBytes = 1024 * 1024;

void* run_input(void* bytes) {
  const auto* s = static_cast<const std::string*>(bytes);
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(s->data()), s->size());
  return nullptr;
}

void run_on_small_stack(const std::string& bytes) {
  pthread_attr_t attr;
  pthread_t thread;
  if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, kStackBytes) != 0 ||
      pthread_create(&thread, &attr, run_input, const_cast<std::string*>(&bytes)) != 0 ||
      pthread_join(thread, nullptr) != 0) {
    std::fprintf(stderr, "cannot run an input on a thread of its own\n");
    std::exit(1);
  }
  pthread_attr_destroy(&attr);
}

void run(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.eof() && in.fail()) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    std::exit(1);
  }
  std::fprintf(stderr, "%s\n", file.c_str());  // the last name printed is the input that crashed
  run_on_small_stack(bytes);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t min = 1, count = 0;
  int i = 1;
  if (argc > 2 && std::string(argv[1]) == "--min") {
    min = std::stoul(argv[2]);
    i = 3;
  }
  for (; i < argc; ++i)
    for (const auto& file : inputs(argv[i])) {
      run(file);
      ++count;
    }
  std::printf("%zu inputs run\n", count);
  if (count < min) {
    std::fprintf(stderr, "expected at least %zu inputs\n", min);
    return 1;
  }
  return 0;
}
