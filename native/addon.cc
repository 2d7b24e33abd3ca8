// Module init and the process-wide switches: grad mode, inference mode, threads, seed, build info.
#include "common.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/api/include/torch/version.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#elif defined(__APPLE__)
#include <pthread.h>
#endif

namespace streetseg {
int64_t WrapsAlive();
void InitBlas(Napi::Env env, Napi::Object exports);
namespace {

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "setGradEnabled(bool)");
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(info[0].As<Napi::Boolean>().Value());
  return Napi::Boolean::New(info.Env(), prev);
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

// Inference mode is an RAII guard in C++; TS brackets it with enter/exit in try/finally (LIFO).
std::vector<std::unique_ptr<c10::InferenceMode>>& InferenceGuards() {
  static std::vector<std::unique_ptr<c10::InferenceMode>> guards;
  return guards;
}

Napi::Value EnterInferenceMode(const Napi::CallbackInfo& info) {
  InferenceGuards().push_back(std::make_unique<c10::InferenceMode>(true));
  return Napi::Number::New(info.Env(), static_cast<double>(InferenceGuards().size()));
}

Napi::Value ExitInferenceMode(const Napi::CallbackInfo& info) {
  if (InferenceGuards().empty()) throw Napi::Error::New(info.Env(), "exitInferenceMode without a matching enter");
  InferenceGuards().pop_back();
  return Napi::Number::New(info.Env(), static_cast<double>(InferenceGuards().size()));
}

Napi::Value IsInferenceMode(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::InferenceMode::is_enabled());
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "setNumThreads(n): expected a number");
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(env, "setNumThreads: expected n >= 1, got " + std::to_string(n));
  at::set_num_threads(n);
  return env.Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !(info[0].IsNumber() || info[0].IsBigInt())) throw Napi::TypeError::New(env, "manualSeed(seed)");
  uint64_t seed;
  if (info[0].IsBigInt()) {
    bool lossless;
    seed = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(env, "manualSeed: expected a seed in [0, 2^64), got a bigint outside it");
  } else {
    double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<int64_t>(d))) {
      throw Napi::RangeError::New(env, "manualSeed: expected a non-negative integer, got " + std::to_string(d));
    }
    seed = static_cast<uint64_t>(d);
  }
  at::manual_seed(seed);
  return env.Undefined();
}

// The default CPU generator's full state (Mersenne Twister + the cached normal sample), for exact
// resume: every libtorch CPU random op (rand, randn, dropout, randperm) draws from it. The generator's
// own mutex is held, as libtorch's random kernels hold it.
Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  at::Tensor state;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    state = gen.get_state();
  }
  size_t n = static_cast<size_t>(state.nbytes());
  Napi::Uint8Array out = Napi::Uint8Array::New(env, n);
  if (n) std::memcpy(out.Data(), state.data_ptr(), n);
  return out;
}

Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "setRngState(bytes): expected a Uint8Array from getRngState()");
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  int64_t expected = gen.get_state().numel();
  if (static_cast<int64_t>(bytes.ByteLength()) != expected) {
    throw Napi::RangeError::New(env, "setRngState: expected " + std::to_string(expected) + " bytes (a state from getRngState() of this libtorch), got " +
                                         std::to_string(bytes.ByteLength()));
  }
  at::Tensor state = at::empty({expected}, at::TensorOptions().dtype(at::kByte));
  void* src = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, bytes, nullptr, nullptr, &src, nullptr, nullptr), Napi::Value());
  if (expected) std::memcpy(state.data_ptr(), src, static_cast<size_t>(expected));
  gen.set_state(state);
  return env.Undefined();
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* d = Data(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("liveTensors", Napi::Number::New(env, static_cast<double>(d->liveTensors)));
  o.Set("externalBytes", Napi::Number::New(env, static_cast<double>(d->externalBytes)));
  o.Set("handles", Napi::Number::New(env, static_cast<double>(WrapsAlive())));
  return o;
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  o.Set("parallelInfo", Napi::String::New(env, at::get_parallel_info()));
  o.Set("config", Napi::String::New(env, at::show_config()));
  o.Set("cudaAvailable", Napi::Boolean::New(env, at::hasCUDA()));
  o.Set("mklAvailable", Napi::Boolean::New(env, at::hasMKL()));
  return o;
}

// The process-global native state (the handle hand-over slot, the op table, the allocator flag, the
// inference-mode guards, the default generator) is unsynchronised, so one JS thread owns the addon:
// the main thread. A worker that imports the engine gets this error instead of a data race.
bool OnMainThread() {
#if defined(__linux__)
  return syscall(SYS_gettid) == getpid();
#elif defined(__APPLE__)
  return pthread_main_np() != 0;
#else
  return true;  // elsewhere only the owner-env check below applies
#endif
}

napi_env g_owner = nullptr;

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (!OnMainThread() || (g_owner && g_owner != static_cast<napi_env>(env))) {
    throw Napi::Error::New(env, "streetseg_torch: the libtorch addon can only be loaded on the main thread (its native state is "
                                "process-global and unsynchronised); use the tensor engine there and pass typed arrays to workers");
  }
  g_owner = env;
  env.SetInstanceData<AddonData>(new AddonData());
  exports.Set("NativeTensor", TensorWrap::Init(env));
  Export<FromArray>(env, exports, "fromArray");
  Export<SetGradEnabled>(env, exports, "setGradEnabled");
  Export<IsGradEnabled>(env, exports, "isGradEnabled");
  Export<EnterInferenceMode>(env, exports, "enterInferenceMode");
  Export<ExitInferenceMode>(env, exports, "exitInferenceMode");
  Export<IsInferenceMode>(env, exports, "isInferenceMode");
  Export<SetNumThreads>(env, exports, "setNumThreads");
  Export<GetNumThreads>(env, exports, "getNumThreads");
  Export<ManualSeed>(env, exports, "manualSeed");
  Export<GetRngState>(env, exports, "getRngState");
  Export<SetRngState>(env, exports, "setRngState");
  Export<Stats>(env, exports, "stats");
  Export<BuildInfo>(env, exports, "buildInfo");
  InitDispatch(env, exports);
  InitAllocator(env, exports);
  InitBlas(env, exports);
  InitDistributed(env, exports);
  InitProfiler(env, exports);
  return exports;
}

}  // namespace
}  // namespace streetseg

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return streetseg::Init(env, exports); }
NODE_API_MODULE(streetseg_torch, InitModule)
