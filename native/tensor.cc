// TensorWrap: the JS handle of one at::Tensor, plus conversions between tensors and typed arrays.
#include "common.h"

#include <cstring>

namespace streetseg {

static int64_t g_wraps = 0;
int64_t WrapsAlive() { return g_wraps; }

AddonData* Data(Napi::BasicEnv env) { return env.GetInstanceData<AddonData>(); }

at::ScalarType ParseDType(Napi::Env env, const std::string& s) {
  if (s == "float32" || s == "float") return at::kFloat;
  if (s == "float64" || s == "double") return at::kDouble;
  if (s == "float16" || s == "half") return at::kHalf;
  if (s == "bfloat16") return at::kBFloat16;
  if (s == "int64" || s == "long") return at::kLong;
  if (s == "int32" || s == "int") return at::kInt;
  if (s == "int16") return at::kShort;
  if (s == "int8") return at::kChar;
  if (s == "uint8") return at::kByte;
  if (s == "bool") return at::kBool;
  throw Napi::TypeError::New(env, "unknown dtype '" + s +
                                      "': expected float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8 or bool");
}

const char* DTypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return c10::toString(t);
  }
}

void ThrowTorchError(Napi::Env env, const std::string& context) {
  std::string prefix = context.empty() ? "" : context + ": ";
  try {
    throw;
  } catch (const c10::IndexError& e) {
    throw Napi::RangeError::New(env, prefix + e.what_without_backtrace());
  } catch (const c10::TypeError& e) {
    throw Napi::TypeError::New(env, prefix + e.what_without_backtrace());
  } catch (const c10::OutOfMemoryError& e) {
    Napi::Error err = Napi::Error::New(env, prefix + "out of memory: " + e.what_without_backtrace());
    err.Set("code", Napi::String::New(env, "ERR_TORCH_OOM"));
    throw err;
  } catch (const c10::Error& e) {
    Napi::Error err = Napi::Error::New(env, prefix + e.what_without_backtrace());
    err.Set("code", Napi::String::New(env, "ERR_TORCH"));
    throw err;
  } catch (const std::bad_alloc&) {
    Napi::Error err = Napi::Error::New(env, prefix + "out of memory (std::bad_alloc)");
    err.Set("code", Napi::String::New(env, "ERR_TORCH_OOM"));
    throw err;
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, prefix + e.what());
  } catch (...) {
    throw Napi::Error::New(env, prefix + "unknown native exception");
  }
}

// ---------------------------------------------------------------------------------------------------
Napi::Function TensorWrap::Init(Napi::Env env) {
  Napi::Function ctor = DefineClass(
      env, "NativeTensor",
      {
          InstanceAccessor<&TensorWrap::Shape>("shape"),
          InstanceAccessor<&TensorWrap::DType>("dtype"),
          InstanceAccessor<&TensorWrap::Device>("device"),
          InstanceAccessor<&TensorWrap::Numel>("numel"),
          InstanceAccessor<&TensorWrap::Dim>("dim"),
          InstanceAccessor<&TensorWrap::RequiresGrad>("requiresGrad"),
          InstanceAccessor<&TensorWrap::IsDisposed>("isDisposed"),
          InstanceAccessor<&TensorWrap::IsLeaf>("isLeaf"),
          InstanceAccessor<&TensorWrap::HasGradFn>("hasGradFn"),
          InstanceAccessor<&TensorWrap::Nbytes>("nbytes"),
          InstanceMethod<&TensorWrap::SetRequiresGrad>("setRequiresGrad"),
          InstanceMethod<&TensorWrap::Grad>("grad"),
          InstanceMethod<&TensorWrap::SetGrad>("setGrad"),
          InstanceMethod<&TensorWrap::Backward>("backward"),
          InstanceMethod<&TensorWrap::Detach>("detach"),
          InstanceMethod<&TensorWrap::Item>("item"),
          InstanceMethod<&TensorWrap::ToArray>("toArray"),
          InstanceMethod<&TensorWrap::CopyFromArray>("copyFromArray"),
          InstanceMethod<&TensorWrap::Dispose>("dispose"),
          InstanceMethod<&TensorWrap::IsContiguous>("isContiguous"),
          InstanceMethod<&TensorWrap::SameStorage>("sameStorage"),
      });
  Data(env)->tensorCtor = Napi::Persistent(ctor);
  return ctor;
}

// The tensor is handed to the constructor through this slot (not a JS External, which costs a V8
// object per tensor), so that JS cannot construct handles by itself.
static at::Tensor* g_pending = nullptr;

Napi::Object TensorWrap::Wrap(Napi::Env env, at::Tensor t) {
  g_pending = &t;
  Napi::Object obj;
  try {
    obj = Data(env)->tensorCtor.New({});
  } catch (...) {
    g_pending = nullptr;
    throw;
  }
  g_pending = nullptr;
  return obj;
}

bool TensorWrap::IsInstance(Napi::Env env, const Napi::Value& v) {
  return v.IsObject() && v.As<Napi::Object>().InstanceOf(Data(env)->tensorCtor.Value());
}

at::Tensor& TensorWrap::Get(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!IsInstance(env, v)) throw Napi::TypeError::New(env, std::string(what) + ": expected a Tensor");
  return ObjectWrap<TensorWrap>::Unwrap(v.As<Napi::Object>())->Live(env);
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  Napi::Env env = info.Env();
  if (!g_pending) {
    throw Napi::TypeError::New(env, "NativeTensor cannot be constructed directly; use the streetseg tensor factories");
  }
  tensor = std::move(*g_pending);
  g_pending = nullptr;
  g_wraps++;
  Track(env);
}

TensorWrap::~TensorWrap() { g_wraps--; }

void TensorWrap::Track(Napi::Env env) {
  AddonData* d = Data(env);
  d->liveTensors++;
  // Report the bytes this handle keeps alive; views share storage, so count the storage only for
  // tensors that own their full storage to avoid wild over-reporting of views.
  if (tensor.defined() && tensor.has_storage()) {
    reported_ = static_cast<int64_t>(tensor.storage().nbytes());
    if (tensor.is_view()) reported_ = 0;
  }
  if (reported_ > 0) {
    d->externalBytes += reported_;
    Napi::MemoryManagement::AdjustExternalMemory(env, reported_);
  }
}

void TensorWrap::Release(Napi::BasicEnv env) {
  if (!tensor.defined() && reported_ == 0) return;
  AddonData* d = Data(env);
  if (tensor.defined()) d->liveTensors--;
  tensor = at::Tensor();
  if (reported_ > 0) {
    d->externalBytes -= reported_;
    Napi::MemoryManagement::AdjustExternalMemory(env, -reported_);
    reported_ = 0;
  }
}

void TensorWrap::Finalize(Napi::BasicEnv env) { Release(env); }

at::Tensor& TensorWrap::Live(Napi::Env env) {
  if (!tensor.defined()) throw Napi::Error::New(env, "tensor was disposed");
  return tensor;
}

Napi::Value TensorWrap::Shape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = Live(env);
  auto sizes = t.sizes();
  Napi::Array arr = Napi::Array::New(env, sizes.size());
  for (size_t i = 0; i < sizes.size(); i++) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, sizes[i]));
  return arr;
}

Napi::Value TensorWrap::DType(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DTypeName(Live(info.Env()).scalar_type()));
}

Napi::Value TensorWrap::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), Live(info.Env()).device().str());
}

Napi::Value TensorWrap::Numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Live(info.Env()).numel()));
}

Napi::Value TensorWrap::Dim(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Live(info.Env()).dim()));
}

Napi::Value TensorWrap::Nbytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Live(info.Env()).nbytes()));
}

Napi::Value TensorWrap::RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Live(info.Env()).requires_grad());
}

Napi::Value TensorWrap::IsLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Live(info.Env()).is_leaf());
}

Napi::Value TensorWrap::HasGradFn(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Live(info.Env()).grad_fn() != nullptr);
}

Napi::Value TensorWrap::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor.defined());
}

Napi::Value TensorWrap::IsContiguous(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = Live(env);
  if (info.Length() > 0 && info[0].IsString() && info[0].As<Napi::String>().Utf8Value() == "channels_last") {
    return Napi::Boolean::New(env, t.is_contiguous(at::MemoryFormat::ChannelsLast));
  }
  return Napi::Boolean::New(env, t.is_contiguous());
}

Napi::Value TensorWrap::SameStorage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& other = Get(env, info[0], "sameStorage");
  at::Tensor& t = Live(env);
  return Napi::Boolean::New(env, t.has_storage() && other.has_storage() && t.storage().is_alias_of(other.storage()));
}

Napi::Value TensorWrap::SetRequiresGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBoolean()) throw Napi::TypeError::New(env, "setRequiresGrad: expected a boolean");
  return Guarded(env, "setRequiresGrad", [&]() -> Napi::Value {
    Live(env).set_requires_grad(info[0].As<Napi::Boolean>().Value());
    return info.This();
  });
}

Napi::Value TensorWrap::Grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& g = Live(env).grad();
  if (!g.defined()) return env.Null();
  return Wrap(env, g);
}

Napi::Value TensorWrap::SetGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, "setGrad", [&]() -> Napi::Value {
    at::Tensor& t = Live(env);
    if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) {
      t.mutable_grad() = at::Tensor();
    } else {
      t.mutable_grad() = Get(env, info[0], "setGrad");
    }
    return env.Undefined();
  });
}

Napi::Value TensorWrap::Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, "backward", [&]() -> Napi::Value {
    at::Tensor& t = Live(env);
    at::Tensor grad;
    if (info.Length() > 0 && !info[0].IsNull() && !info[0].IsUndefined()) grad = Get(env, info[0], "backward(grad)");
    bool retain = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
    if (!t.requires_grad()) {
      throw Napi::Error::New(env, "backward: the tensor does not require grad and has no grad_fn "
                                  "(was it computed under noGrad, or from inputs without requiresGrad?)");
    }
    t.backward(grad, retain ? c10::optional<bool>(true) : c10::nullopt, false);
    return env.Undefined();
  });
}

Napi::Value TensorWrap::Detach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, "detach", [&]() -> Napi::Value { return Wrap(env, Live(env).detach()); });
}

Napi::Value TensorWrap::Item(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, "item", [&]() -> Napi::Value {
    at::Tensor& t = Live(env);
    if (t.numel() != 1) {
      throw Napi::RangeError::New(env, "item: expected a tensor with one element, got shape " + c10::str(t.sizes()));
    }
    at::Scalar s = t.item();
    if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
    if (s.isIntegral(false)) {
      int64_t v = s.toLong();
      if (v > 9007199254740991LL || v < -9007199254740991LL) return Napi::BigInt::New(env, v);
      return Napi::Number::New(env, static_cast<double>(v));
    }
    return Napi::Number::New(env, s.toDouble());
  });
}

template <typename T, napi_typedarray_type K>
static Napi::Value CopyOut(Napi::Env env, const at::Tensor& c) {
  size_t n = static_cast<size_t>(c.numel());
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, n * sizeof(T));
  if (n) std::memcpy(buf.Data(), c.data_ptr(), n * sizeof(T));
  return Napi::TypedArrayOf<T>::New(env, n, buf, 0, K);
}

Napi::Value TensorWrap::ToArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, "toArray", [&]() -> Napi::Value {
    at::Tensor c = Live(env).detach().to(at::kCPU).contiguous();
    switch (c.scalar_type()) {
      case at::kFloat: return CopyOut<float, napi_float32_array>(env, c);
      case at::kDouble: return CopyOut<double, napi_float64_array>(env, c);
      case at::kInt: return CopyOut<int32_t, napi_int32_array>(env, c);
      case at::kLong: return CopyOut<int64_t, napi_bigint64_array>(env, c);
      case at::kShort: return CopyOut<int16_t, napi_int16_array>(env, c);
      case at::kChar: return CopyOut<int8_t, napi_int8_array>(env, c);
      case at::kByte:
      case at::kBool: return CopyOut<uint8_t, napi_uint8_array>(env, c);
      case at::kHalf:
      case at::kBFloat16: return CopyOut<uint16_t, napi_uint16_array>(env, c);  // raw bits
      default: throw Napi::TypeError::New(env, std::string("toArray: unsupported dtype ") + DTypeName(c.scalar_type()));
    }
  });
}

// Size check shared by fromArray and copyFromArray: the typed array must match dtype and element count.
static void CheckArray(Napi::Env env, const Napi::TypedArray& arr, at::ScalarType dt, int64_t numel, const char* ctx) {
  size_t elem = c10::elementSize(dt);
  // Raw bytes (Uint8Array) may carry any dtype, e.g. straight from a checkpoint file.
  if (arr.TypedArrayType() == napi_uint8_array && dt != at::kByte && dt != at::kBool) {
    if (static_cast<int64_t>(arr.ByteLength()) != numel * static_cast<int64_t>(elem)) {
      throw Napi::RangeError::New(env, std::string(ctx) + ": " + std::to_string(arr.ByteLength()) + " bytes given but shape and dtype " +
                                           DTypeName(dt) + " need " + std::to_string(numel * static_cast<int64_t>(elem)));
    }
    return;
  }
  if (arr.ElementSize() != elem) {
    throw Napi::TypeError::New(env, std::string(ctx) + ": typed array element size " + std::to_string(arr.ElementSize()) +
                                        " does not match dtype " + DTypeName(dt) + " (" + std::to_string(elem) + " bytes)");
  }
  if (static_cast<int64_t>(arr.ElementLength()) != numel) {
    throw Napi::RangeError::New(env, std::string(ctx) + ": typed array has " + std::to_string(arr.ElementLength()) +
                                         " elements but the shape needs " + std::to_string(numel));
  }
}

Napi::Value TensorWrap::CopyFromArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, "copyFromArray", [&]() -> Napi::Value {
    at::Tensor& t = Live(env);
    if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "copyFromArray: expected a typed array");
    Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
    CheckArray(env, arr, t.scalar_type(), t.numel(), "copyFromArray");
    if (!t.is_contiguous() || !t.device().is_cpu()) throw Napi::Error::New(env, "copyFromArray: tensor must be contiguous on cpu");
    auto* src = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    at::NoGradGuard ng;
    std::memcpy(t.data_ptr(), src, t.nbytes());
    return info.This();
  });
}

Napi::Value TensorWrap::Dispose(const Napi::CallbackInfo& info) {
  Release(info.Env());
  return info.Env().Undefined();
}

// fromArray(typedArray, shape: number[], dtype: string) -> NativeTensor (a copy)
Napi::Value FromArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, "fromArray", [&]() -> Napi::Value {
    if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsArray() || !info[2].IsString()) {
      throw Napi::TypeError::New(env, "fromArray(typedArray, shape, dtype): bad arguments");
    }
    Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
    Napi::Array shapeArr = info[1].As<Napi::Array>();
    std::vector<int64_t> shape;
    int64_t numel = 1;
    for (uint32_t i = 0; i < shapeArr.Length(); i++) {
      Napi::Value v = shapeArr.Get(i);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, "fromArray: shape must be an array of integers");
      double d = v.As<Napi::Number>().DoubleValue();
      if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d))) {
        throw Napi::RangeError::New(env, "fromArray: invalid dimension " + std::to_string(d) + " in shape");
      }
      shape.push_back(static_cast<int64_t>(d));
      numel *= shape.back();
    }
    at::ScalarType dt = ParseDType(env, info[2].As<Napi::String>().Utf8Value());
    CheckArray(env, arr, dt, numel, "fromArray");
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dt));
    auto* src = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    if (numel) std::memcpy(t.data_ptr(), src, t.nbytes());
    return TensorWrap::Wrap(env, std::move(t));
  });
}

}  // namespace streetseg
