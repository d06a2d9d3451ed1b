// A main() for a fuzz target without libFuzzer: runs every file given (directories: every file in
// them, recursively, in name order) once through LLVMFuzzerTestOneInput. Built with the normal
// compiler, so the unit tests (and their ASan run) replay the crash reproducers and the seed corpora.
//
// usage: fuzz_regress_TARGET [--min N] PATH...   fails when fewer than N inputs were found (default 1)
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

void run(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.eof() && in.fail()) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    std::exit(1);
  }
  std::fprintf(stderr, "%s\n", file.c_str());  // the last name printed is the input that crashed
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
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
