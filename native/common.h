// Shared declarations of the streetseg libtorch addon.
#pragma once
#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cstdint>
#include <string>
#include <unordered_map>

namespace streetseg {

// The JS handle of an at::Tensor. Resetting `tensor` frees this owner (never release_resources()).
class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, at::Tensor t);
  static bool IsInstance(Napi::Env env, const Napi::Value& v);
  // Throws a JS TypeError when v is not a live tensor handle.
  static at::Tensor& Get(Napi::Env env, const Napi::Value& v, const char* what);

  // The N-API callback of every NativeTensor method and getter: checks `this` and runs the body inside
  // Guarded. Registered directly on the prototype, so a fake `this` gets our own clear TypeError.
  template <Napi::Value (TensorWrap::*M)(const Napi::CallbackInfo&)>
  static napi_value Entry(napi_env env, napi_callback_info cbinfo);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;
  // A basic finalizer runs synchronously during GC (no JS), so dropped handles free libtorch memory
  // even in loops that never yield to the event loop.
  void Finalize(Napi::BasicEnv env) override;

  at::Tensor tensor;

 private:
  void Release(Napi::BasicEnv env);
  void Track(Napi::Env env);
  // The storage this handle is counted on in AddonData::storages (null when none).
  c10::StorageImpl* counted_ = nullptr;
  static TensorWrap* Self(const Napi::CallbackInfo& info, const char* name);

  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value DType(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Numel(const Napi::CallbackInfo& info);
  Napi::Value Dim(const Napi::CallbackInfo& info);
  Napi::Value RequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value Grad(const Napi::CallbackInfo& info);
  Napi::Value SetGrad(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
  Napi::Value Item(const Napi::CallbackInfo& info);
  Napi::Value ToArray(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value IsContiguous(const Napi::CallbackInfo& info);
  Napi::Value IsLeaf(const Napi::CallbackInfo& info);
  Napi::Value HasGradFn(const Napi::CallbackInfo& info);
  Napi::Value Nbytes(const Napi::CallbackInfo& info);
  Napi::Value SameStorage(const Napi::CallbackInfo& info);
  Napi::Value CopyFromArray(const Napi::CallbackInfo& info);
  at::Tensor& Live(Napi::Env env);
};

// One entry per storage that at least one of our handles keeps alive: its bytes are reported to V8
// once, when the first handle appears, and taken back when the last one goes (views and detach()
// handles share storage). The weak pointer pins the StorageImpl's address, so a freed storage's
// address cannot be reused by a new one while the entry exists.
struct StorageCount {
  c10::weak_intrusive_ptr<c10::StorageImpl> pin;
  int64_t handles = 0;
  int64_t bytes = 0;
};

struct AddonData {
  Napi::FunctionReference tensorCtor;
  int64_t liveTensors = 0;
  int64_t externalBytes = 0;
  std::unordered_map<c10::StorageImpl*, StorageCount> storages;
};

AddonData* Data(Napi::BasicEnv env);

// dtype names <-> ScalarType
at::ScalarType ParseDType(Napi::Env env, const std::string& s);
const char* DTypeName(at::ScalarType t);

// Converts a c10::Error (or std::exception) into a JS error with context; call inside catch blocks.
[[noreturn]] void ThrowTorchError(Napi::Env env, const std::string& context);

// Runs fn, turning every C++ exception into a JS error (as tch-rs's PROTECT). node-addon-api only
// converts Napi::Error; anything else escaping a callback (c10::Error from a device string, a
// std::bad_alloc) reaches std::terminate and aborts the process. Napi::Error passes through as is.
template <typename F>
Napi::Value Guarded(Napi::Env env, const char* context, F&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    ThrowTorchError(env, context ? context : "");
  }
}

// Every exported function is registered through Export, so its whole body runs inside Guarded: no
// body can forget the guard. The JS name travels as the callback's data (a string literal).
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value Protected(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), static_cast<const char*>(info.Data()), [&]() -> Napi::Value { return Fn(info); });
}

template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
void Export(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New<Protected<Fn>>(env, name, const_cast<char*>(name)));
}

void InitDispatch(Napi::Env env, Napi::Object exports);
void InitAllocator(Napi::Env env, Napi::Object exports);
void InitDistributed(Napi::Env env, Napi::Object exports);
void InitProfiler(Napi::Env env, Napi::Object exports);
Napi::Value FromArray(const Napi::CallbackInfo& info);

}  // namespace streetseg
