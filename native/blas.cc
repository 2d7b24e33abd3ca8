// Which OpenBLAS kernels are running: openblas_get_corename() / openblas_get_config(), found at run time.
//
// Resolved with dlsym rather than linked, so that a libtorch built on MKL or the reference BLAS loads
// and simply reports "unknown". Node dlopens addons RTLD_LOCAL, so libopenblas (a dependency of
// libtorch_cpu) is usually not in the global scope: after RTLD_DEFAULT we look it up in every loaded
// object whose path mentions "blas" (RTLD_NOLOAD: never loads anything new).
#include "common.h"

#include <dlfcn.h>
#include <link.h>

#include <string>
#include <vector>

namespace streetseg {
namespace {

using CharFn = const char* (*)();

int CollectBlasPaths(struct dl_phdr_info* info, size_t, void* data) {
  auto* paths = static_cast<std::vector<std::string>*>(data);
  if (info->dlpi_name && std::string(info->dlpi_name).find("blas") != std::string::npos) paths->push_back(info->dlpi_name);
  return 0;
}

void* FindSymbol(const char* name) {
  if (void* sym = dlsym(RTLD_DEFAULT, name)) return sym;
  std::vector<std::string> paths;
  dl_iterate_phdr(CollectBlasPaths, &paths);
  for (const auto& p : paths) {
    void* handle = dlopen(p.c_str(), RTLD_LAZY | RTLD_NOLOAD);
    if (!handle) continue;
    void* sym = dlsym(handle, name);
    // The library stays mapped (libtorch holds it); this only drops the reference we just took.
    dlclose(handle);
    if (sym) return sym;
  }
  return nullptr;
}

std::string CallString(const char* symbol) {
  auto fn = reinterpret_cast<CharFn>(FindSymbol(symbol));
  if (!fn) return "unknown";
  const char* s = fn();
  return s && *s ? std::string(s) : "unknown";
}

// blasProbe() -> { corename, config }: "unknown" for both when the BLAS is not OpenBLAS.
Napi::Value BlasProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("corename", Napi::String::New(env, CallString("openblas_get_corename")));
  o.Set("config", Napi::String::New(env, CallString("openblas_get_config")));
  return o;
}

}  // namespace

// Through Export like every other entry: an exception escaping the probe (a std::bad_alloc building
// the strings) becomes a JS error instead of terminating the process.
void InitBlas(Napi::Env env, Napi::Object exports) { Export<BlasProbe>(env, exports, "blasProbe"); }

}  // namespace streetseg
