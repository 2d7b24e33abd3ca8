// Module init and the process-wide switches: grad mode, inference mode, threads, seed, build info.
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/api/include/torch/version.h>

#include <memory>
#include <vector>

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
  return Guarded(env, "setNumThreads", [&]() -> Napi::Value {
    at::set_num_threads(n);
    return env.Undefined();
  });
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
  } else {
    double d = info[0].As<Napi::Number>().DoubleValue();
    if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d))) {
      throw Napi::RangeError::New(env, "manualSeed: expected a non-negative integer, got " + std::to_string(d));
    }
    seed = static_cast<uint64_t>(d);
  }
  at::manual_seed(seed);
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<AddonData>(new AddonData());
  exports.Set("NativeTensor", TensorWrap::Init(env));
  exports.Set("fromArray", Napi::Function::New(env, FromArray));
  exports.Set("setGradEnabled", Napi::Function::New(env, SetGradEnabled));
  exports.Set("isGradEnabled", Napi::Function::New(env, IsGradEnabled));
  exports.Set("enterInferenceMode", Napi::Function::New(env, EnterInferenceMode));
  exports.Set("exitInferenceMode", Napi::Function::New(env, ExitInferenceMode));
  exports.Set("isInferenceMode", Napi::Function::New(env, IsInferenceMode));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed));
  exports.Set("stats", Napi::Function::New(env, Stats));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo));
  InitDispatch(env, exports);
  InitAllocator(env, exports);
  InitBlas(env, exports);
  return exports;
}

}  // namespace
}  // namespace streetseg

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return streetseg::Init(env, exports); }
NODE_API_MODULE(streetseg_torch, InitModule)
