// Shared declarations of the streetseg libtorch addon.
#pragma once
#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <string>

namespace streetseg {

// The JS handle of an at::Tensor. Resetting `tensor` frees this owner (never release_resources()).
class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, at::Tensor t);
  static bool IsInstance(Napi::Env env, const Napi::Value& v);
  // Throws a JS TypeError when v is not a live tensor handle.
  static at::Tensor& Get(Napi::Env env, const Napi::Value& v, const char* what);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;
  // A basic finalizer runs synchronously during GC (no JS), so dropped handles free libtorch memory
  // even in loops that never yield to the event loop.
  void Finalize(Napi::BasicEnv env) override;

  at::Tensor tensor;

 private:
  void Release(Napi::BasicEnv env);
  void Track(Napi::Env env);
  int64_t reported_ = 0;

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

struct AddonData {
  Napi::FunctionReference tensorCtor;
  int64_t liveTensors = 0;
  int64_t externalBytes = 0;
};

AddonData* Data(Napi::BasicEnv env);

// dtype names <-> ScalarType
at::ScalarType ParseDType(Napi::Env env, const std::string& s);
const char* DTypeName(at::ScalarType t);

// Converts a c10::Error (or std::exception) into a JS error with context; call inside catch blocks.
[[noreturn]] void ThrowTorchError(Napi::Env env, const std::string& context);

// Wraps a native method body: runs fn, translating libtorch exceptions into JS errors.
template <typename F>
Napi::Value Guarded(Napi::Env env, const std::string& context, F&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    ThrowTorchError(env, context);
  }
}

void InitDispatch(Napi::Env env, Napi::Object exports);
void InitAllocator(Napi::Env env, Napi::Object exports);
Napi::Value FromArray(const Napi::CallbackInfo& info);

}  // namespace streetseg
