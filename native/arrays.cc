// Tensors <-> typed arrays: NativeTensor.toArray / copyFromArray and fromArray, with the size and dtype
// checks that keep a wrong array from reading or writing out of bounds; and the dtype names they use.
#include "common.h"

#include <cstring>

namespace streetseg {

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

template <typename T, napi_typedarray_type K>
static Napi::Value CopyOut(Napi::Env env, const at::Tensor& c) {
  size_t n = static_cast<size_t>(c.numel());
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, n * sizeof(T));
  if (n) std::memcpy(buf.Data(), c.data_ptr(), n * sizeof(T));
  return Napi::TypedArrayOf<T>::New(env, n, buf, 0, K);
}

Napi::Value TensorWrap::ToArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
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

// The first byte of a typed array's elements. napi_get_typedarray_info gives it for SharedArrayBuffer
// backings too, where Napi::ArrayBuffer::Data() fails with "Invalid argument".
static void* ArrayData(Napi::Env env, const Napi::TypedArray& arr) {
  void* data = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, arr, nullptr, nullptr, &data, nullptr, nullptr), nullptr);
  return data;
}

// Writes through copy_ (not memcpy) so the version counter moves: a tensor that autograd saved for
// backward then fails at backward with autograd's usual in-place error instead of giving silently
// wrong gradients. NoGradGuard lets parameters (leaves that require grad) be overwritten, as
// torch.no_grad() + copy_ does. copy_ also handles strided (e.g. channels-last) destinations.
Napi::Value TensorWrap::CopyFromArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = Live(env);
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "copyFromArray: expected a typed array");
  Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
  CheckArray(env, arr, t.scalar_type(), t.numel(), "copyFromArray");
  if (t.numel() == 0) return info.This();
  at::Tensor src = at::from_blob(ArrayData(env, arr), t.sizes(), at::TensorOptions().dtype(t.scalar_type()));
  at::NoGradGuard ng;
  t.copy_(src);
  return info.This();
}

// fromArray(typedArray, shape: number[], dtype: string) -> NativeTensor (a copy)
Napi::Value FromArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
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
    if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<int64_t>(d))) {
      throw Napi::RangeError::New(env, "fromArray: invalid dimension " + std::to_string(d) + " in shape");
    }
    int64_t n = static_cast<int64_t>(d);
    if (n > 0 && numel > INT64_MAX / n) throw Napi::RangeError::New(env, "fromArray: the shape's element count overflows int64");
    shape.push_back(n);
    numel *= n;
  }
  at::ScalarType dt = ParseDType(env, info[2].As<Napi::String>().Utf8Value());
  // After the shape loop: its getters may have run JS that changed the array.
  CheckArray(env, arr, dt, numel, "fromArray");
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dt));
  if (numel) std::memcpy(t.data_ptr(), ArrayData(env, arr), t.nbytes());
  return TensorWrap::Wrap(env, std::move(t));
}

}  // namespace streetseg
