// A caching CPU allocator for large tensors. glibc serves blocks above its mmap threshold (at most
// 32 MB) with fresh mmap/munmap, so every training step page-faults its big activations in again
// (about 25% of CPU time at batch 8 in the PyTorch reference). Blocks of 1 MiB and more are rounded to
// size classes (≤12.5% slack) and kept for reuse, up to a cap; smaller ones go to malloc as before.
// STREETSEG_ALLOCATOR=system disables it; STREETSEG_ALLOC_CACHE_MB sets the cap (default 4096).
#include "common.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <torch/version.h>

#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

// c10::Allocator changed under us twice. Checked against libtorch 1.13 (Debian's, built here) and the
// current pytorch main c10/core/Allocator.h:
//  - 2.2 (pytorch#113396, copy-on-write storages) added the pure virtual
//    `void copy_data(void* dest, const void* src, std::size_t count) const` (default_copy_data = memcpy);
//  - 2.3 (pytorch#120969) made `DataPtr allocate(size_t n)` non-const.
// Only 1.13 is compiled here; the 2.x branches follow those headers.
#define STREETSEG_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))
#if STREETSEG_TORCH_AT_LEAST(2, 3)
#define STREETSEG_ALLOCATE_CONST
#else
#define STREETSEG_ALLOCATE_CONST const
#endif

namespace streetseg {
namespace {

constexpr size_t kMinCached = size_t(1) << 20;

struct Pool {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free;  // size class -> blocks
  std::unordered_map<void*, size_t> live;               // large blocks in use -> size class
  size_t cachedBytes = 0;
  size_t capBytes = size_t(4096) << 20;
  size_t hits = 0, misses = 0;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: tensors may be freed during process teardown
  return *p;
}

size_t SizeClass(size_t n) {
  size_t top = size_t(1) << (63 - __builtin_clzll(n));  // highest power of two <= n
  size_t step = top >> 3;
  return (n + step - 1) / step * step;
}

// One deleter for every block (data == context), as raw_allocate/raw_deallocate users such as
// oneDNN require: large blocks are found in `live` and cached, the rest go back to malloc.
void Free(void* p) {
  if (!p) return;
  Pool& P = pool();
  {
    std::lock_guard<std::mutex> lock(P.mu);
    auto it = P.live.find(p);
    if (it != P.live.end()) {
      size_t sz = it->second;
      P.live.erase(it);
      if (P.cachedBytes + sz <= P.capBytes) {
        P.free[sz].push_back(p);
        P.cachedBytes += sz;
        return;
      }
    }
  }
  c10::free_cpu(p);
}

class CachingCPUAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t nbytes) STREETSEG_ALLOCATE_CONST override {
    c10::Device cpu(c10::DeviceType::CPU);
    if (nbytes < kMinCached) {
      void* p = c10::alloc_cpu(nbytes);
      return {p, p, &Free, cpu};
    }
    size_t sz = SizeClass(nbytes);
    void* p = nullptr;
    Pool& P = pool();
    {
      std::lock_guard<std::mutex> lock(P.mu);
      auto it = P.free.find(sz);
      if (it != P.free.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        P.cachedBytes -= sz;
        P.hits++;
      } else {
        P.misses++;
      }
    }
    if (!p) {
      try {
        p = c10::alloc_cpu(sz);
      } catch (const c10::Error&) {
        EmptyCache();  // give cached blocks back and try once more before reporting OOM
        p = c10::alloc_cpu(sz);
      }
    }
    {
      std::lock_guard<std::mutex> lock(P.mu);
      P.live.emplace(p, sz);
    }
    return {p, p, &Free, cpu};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &Free; }
#if STREETSEG_TORCH_AT_LEAST(2, 2)
  // Blocks are plain host memory: copying is memcpy (what c10's default_copy_data does).
  void copy_data(void* dest, const void* src, std::size_t count) const override { std::memcpy(dest, src, count); }
#endif

  static void EmptyCache() {
    Pool& P = pool();
    std::vector<void*> all;
    {
      std::lock_guard<std::mutex> lock(P.mu);
      for (auto& kv : P.free)
        for (void* q : kv.second) all.push_back(q);
      P.free.clear();
      P.cachedBytes = 0;
    }
    for (void* q : all) c10::free_cpu(q);
  }
};

CachingCPUAllocator g_allocator;
bool g_installed = false;

Napi::Value AllocatorStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Pool& P = pool();
  std::lock_guard<std::mutex> lock(P.mu);
  Napi::Object o = Napi::Object::New(env);
  o.Set("caching", Napi::Boolean::New(env, g_installed));
  o.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(P.cachedBytes)));
  o.Set("capBytes", Napi::Number::New(env, static_cast<double>(P.capBytes)));
  o.Set("hits", Napi::Number::New(env, static_cast<double>(P.hits)));
  o.Set("misses", Napi::Number::New(env, static_cast<double>(P.misses)));
  return o;
}

Napi::Value EmptyCacheJs(const Napi::CallbackInfo& info) {
  CachingCPUAllocator::EmptyCache();
  return info.Env().Undefined();
}

}  // namespace

void InitAllocator(Napi::Env env, Napi::Object exports) {
  const char* mode = std::getenv("STREETSEG_ALLOCATOR");
  if (!(mode && std::string(mode) == "system")) {
    if (const char* cap = std::getenv("STREETSEG_ALLOC_CACHE_MB")) pool().capBytes = size_t(std::strtoull(cap, nullptr, 10)) << 20;
    if (!g_installed) {
      c10::SetCPUAllocator(&g_allocator, /*priority=*/10);
      g_installed = true;
#if defined(__GLIBC__)
      // Fix glibc's mmap threshold at our caching size. Left dynamic, it rises to the size of each
      // mmap'd block freed (up to 32 MiB), after which blocks that size come from the heap, and
      // emptyCache() hands them back to a heap that keeps their pages: RSS crept up by ~15% over
      // the epochs of a run. Fixed, every block the cache holds is its own mapping and really goes
      // back to the system when released.
      mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMinCached));
#endif
    }
  }
  Export<AllocatorStats>(env, exports, "allocatorStats");
  Export<EmptyCacheJs>(env, exports, "emptyCache");
}

}  // namespace streetseg
