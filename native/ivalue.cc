// Conversion of JS values to IValues against an operator's schema (ToIValue) and of results back to
// JS (FromIValue); see ivalue.h.
#include "ivalue.h"

#include <cmath>

namespace streetseg {

void ArgError(Napi::Env env, const OpEntry& op, const c10::Argument& arg, const std::string& msg) {
  throw Napi::TypeError::New(env, op.name + ": argument '" + arg.name() + "' (" + arg.type()->str() + "): " + msg);
}

namespace {

const char* JsTypeName(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return "boolean";
  if (v.IsNumber()) return "number";
  if (v.IsBigInt()) return "bigint";
  if (v.IsString()) return "string";
  if (v.IsArray()) return "array";
  if (v.IsTypedArray()) return "typed array";
  return "object";
}

int64_t ToInt(Napi::Env env, const OpEntry& op, const c10::Argument& arg, const Napi::Value& v) {
  if (v.IsBigInt()) {
    bool lossless = false;
    int64_t r = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) ArgError(env, op, arg, "bigint out of int64 range");
    return r;
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  if (!v.IsNumber()) ArgError(env, op, arg, std::string("expected an integer, got ") + JsTypeName(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d == static_cast<double>(static_cast<int64_t>(d)))) {
    ArgError(env, op, arg, "expected an integer, got " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

double ToDouble(Napi::Env env, const OpEntry& op, const c10::Argument& arg, const Napi::Value& v) {
  if (v.IsNumber()) return v.As<Napi::Number>().DoubleValue();
  if (v.IsObject() && !v.IsArray()) {
    Napi::Value f = v.As<Napi::Object>().Get("float");
    if (f.IsNumber()) return f.As<Napi::Number>().DoubleValue();
  }
  ArgError(env, op, arg, std::string("expected a number, got ") + JsTypeName(v));
}

// Enums travel as Int IValues (ScalarType, Layout, MemoryFormat, reduction). Strings are accepted by name.
int64_t EnumValue(Napi::Env env, const OpEntry& op, const c10::Argument& arg, const Napi::Value& v, c10::TypeKind real) {
  if (!v.IsString()) return ToInt(env, op, arg, v);
  std::string s = v.As<Napi::String>().Utf8Value();
  switch (real) {
    case c10::TypeKind::ScalarTypeType: return static_cast<int64_t>(ParseDType(env, s));
    case c10::TypeKind::LayoutType:
      if (s == "strided") return static_cast<int64_t>(at::kStrided);
      break;
    case c10::TypeKind::MemoryFormatType:
      if (s == "contiguous") return static_cast<int64_t>(at::MemoryFormat::Contiguous);
      if (s == "channels_last") return static_cast<int64_t>(at::MemoryFormat::ChannelsLast);
      if (s == "preserve") return static_cast<int64_t>(at::MemoryFormat::Preserve);
      break;
    default:
      if (arg.name() == "reduction") {
        if (s == "none") return 0;
        if (s == "mean") return 1;
        if (s == "sum") return 2;
      }
      break;
  }
  ArgError(env, op, arg, "unknown value '" + s + "'");
}

}  // namespace

c10::IValue ToIValue(Napi::Env env, const OpEntry& op, const c10::Argument& arg, const c10::TypePtr& type,
                     const c10::TypePtr& realType, const Napi::Value& v, c10::optional<int32_t> N) {
  using K = c10::TypeKind;
  switch (type->kind()) {
    case K::TensorType:
      if (!TensorWrap::IsInstance(env, v)) ArgError(env, op, arg, std::string("expected a Tensor, got ") + JsTypeName(v));
      return c10::IValue(TensorWrap::Get(env, v, op.name.c_str()));
    case K::OptionalType: {
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      auto elem = type->castRaw<c10::OptionalType>()->getElementType();
      auto realElem = realType->kind() == K::OptionalType ? realType->castRaw<c10::OptionalType>()->getElementType() : elem;
      return ToIValue(env, op, arg, elem, realElem, v, N);
    }
    case K::IntType:
    case K::SymIntType:
      if (realType->kind() == K::ScalarTypeType || realType->kind() == K::LayoutType ||
          realType->kind() == K::MemoryFormatType || v.IsString()) {
        return c10::IValue(EnumValue(env, op, arg, v, realType->kind()));
      }
      return c10::IValue(ToInt(env, op, arg, v));
    case K::FloatType:
      return c10::IValue(ToDouble(env, op, arg, v));
    case K::BoolType:
      if (!v.IsBoolean()) ArgError(env, op, arg, std::string("expected a boolean, got ") + JsTypeName(v));
      return c10::IValue(v.As<Napi::Boolean>().Value());
    case K::NumberType: {  // Scalar: integral JS numbers are int Scalars; {float: x} forces a double.
      if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
      if (v.IsBigInt()) return c10::IValue(ToInt(env, op, arg, v));
      if (v.IsNumber()) {
        double d = v.As<Napi::Number>().DoubleValue();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= 9007199254740991.0) {
          return c10::IValue(static_cast<int64_t>(d));
        }
        return c10::IValue(d);
      }
      return c10::IValue(ToDouble(env, op, arg, v));
    }
    case K::StringType:
      if (!v.IsString()) ArgError(env, op, arg, std::string("expected a string, got ") + JsTypeName(v));
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case K::DeviceObjType: {
      if (!v.IsString()) ArgError(env, op, arg, "expected a device string such as 'cpu' or 'cuda:0'");
      std::string name = v.As<Napi::String>().Utf8Value();
      c10::optional<c10::Device> dev;
      try {
        dev = c10::Device(name);
      } catch (const c10::Error&) {
        ArgError(env, op, arg, "unknown device '" + name + "': expected a device string such as 'cpu' or 'cuda:0'");
      }
      // Checked here: libtorch's own failure deep inside the copy names no device.
      if (dev->is_cuda() && !at::hasCUDA()) {
        throw Napi::Error::New(env, op.name + ": device '" + name + "': this libtorch build has no CUDA");
      }
      return c10::IValue(*dev);
    }
    case K::ScalarTypeType:
      return c10::IValue(EnumValue(env, op, arg, v, K::ScalarTypeType));
    case K::ListType: {
      auto elem = type->castRaw<c10::ListType>()->getElementType();
      // int[N] given a single int: broadcast it (Python's arg parser does this, the boxed call does not).
      if (!v.IsArray()) {
        if ((elem->kind() == K::IntType || elem->kind() == K::SymIntType) && N && (v.IsNumber() || v.IsBigInt())) {
          int64_t x = ToInt(env, op, arg, v);
          return c10::IValue(c10::List<int64_t>(std::vector<int64_t>(static_cast<size_t>(*N), x)));
        }
        ArgError(env, op, arg, std::string("expected an array, got ") + JsTypeName(v));
      }
      Napi::Array a = v.As<Napi::Array>();
      uint32_t n = a.Length();
      switch (elem->kind()) {
        case K::IntType:
        case K::SymIntType: {
          c10::List<int64_t> l;
          l.reserve(n);
          for (uint32_t i = 0; i < n; i++) l.push_back(ToInt(env, op, arg, a.Get(i)));
          // As in Python's arg parser, N only says how far a single value broadcasts ([2] → [2, 2] for
          // int[2]); a list of another length passes through (`int[1]? dim` takes any number of dims) and
          // the kernel checks it.
          if (N && *N > 1 && n == 1) return c10::IValue(c10::List<int64_t>(std::vector<int64_t>(static_cast<size_t>(*N), l.get(0))));
          return c10::IValue(l);
        }
        case K::FloatType: {
          c10::List<double> l;
          l.reserve(n);
          for (uint32_t i = 0; i < n; i++) l.push_back(ToDouble(env, op, arg, a.Get(i)));
          return c10::IValue(l);
        }
        case K::BoolType: {
          c10::List<bool> l;
          l.reserve(n);
          for (uint32_t i = 0; i < n; i++) {
            Napi::Value e = a.Get(i);
            if (!e.IsBoolean()) ArgError(env, op, arg, std::string("expected booleans, got ") + JsTypeName(e));
            l.push_back(e.As<Napi::Boolean>().Value());
          }
          return c10::IValue(l);
        }
        case K::TensorType: {
          c10::List<at::Tensor> l;
          l.reserve(n);
          for (uint32_t i = 0; i < n; i++) {
            Napi::Value e = a.Get(i);
            if (!TensorWrap::IsInstance(env, e)) ArgError(env, op, arg, "element " + std::to_string(i) + " is not a Tensor");
            l.push_back(TensorWrap::Get(env, e, op.name.c_str()));
          }
          return c10::IValue(l);
        }
        case K::OptionalType: {
          auto inner = elem->castRaw<c10::OptionalType>()->getElementType();
          if (inner->kind() != K::TensorType) break;
          c10::List<c10::optional<at::Tensor>> l;
          l.reserve(n);
          for (uint32_t i = 0; i < n; i++) {
            Napi::Value e = a.Get(i);
            if (e.IsNull() || e.IsUndefined()) {
              l.push_back(c10::nullopt);
            } else {
              if (!TensorWrap::IsInstance(env, e)) ArgError(env, op, arg, "element " + std::to_string(i) + " is not a Tensor or null");
              l.push_back(TensorWrap::Get(env, e, op.name.c_str()));
            }
          }
          return c10::IValue(l);
        }
        default:
          break;
      }
      ArgError(env, op, arg, "unsupported list element type");
    }
    default:
      ArgError(env, op, arg, "argument type not supported by the streetseg binding");
  }
}

Napi::Value FromIValue(Napi::Env env, const c10::IValue& iv, const MutatedTensors& mutated) {
  if (iv.isTensor()) {
    const at::Tensor& t = iv.toTensor();
    if (!t.defined()) return env.Null();
    // In-place ops return the same TensorImpl: hand back the caller's handle, not a second owner.
    for (const auto& m : mutated) {
      if (m.first == t.unsafeGetTensorImpl()) return m.second;
    }
    return TensorWrap::Wrap(env, t);
  }
  if (iv.isNone()) return env.Null();
  if (iv.isBool()) return Napi::Boolean::New(env, iv.toBool());
  if (iv.isInt()) {
    int64_t v = iv.toInt();
    if (v > 9007199254740991LL || v < -9007199254740991LL) return Napi::BigInt::New(env, v);
    return Napi::Number::New(env, static_cast<double>(v));
  }
  if (iv.isDouble()) return Napi::Number::New(env, iv.toDouble());
  if (iv.isString()) return Napi::String::New(env, iv.toStringRef());
  if (iv.isScalar()) {
    at::Scalar s = iv.toScalar();
    if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
    if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
    return Napi::Number::New(env, s.toDouble());
  }
  if (iv.isTensorList()) {
    auto l = iv.toTensorList();
    Napi::Array a = Napi::Array::New(env, l.size());
    for (size_t i = 0; i < l.size(); i++) a.Set(static_cast<uint32_t>(i), FromIValue(env, c10::IValue(l.get(i)), mutated));
    return a;
  }
  if (iv.isIntList()) {
    auto l = iv.toIntList();
    Napi::Array a = Napi::Array::New(env, l.size());
    for (size_t i = 0; i < l.size(); i++) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(l.get(i))));
    return a;
  }
  if (iv.isDoubleList()) {
    auto l = iv.toDoubleList();
    Napi::Array a = Napi::Array::New(env, l.size());
    for (size_t i = 0; i < l.size(); i++) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, l.get(i)));
    return a;
  }
  if (iv.isTuple()) {
    const auto& elems = iv.toTupleRef().elements();
    Napi::Array a = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) a.Set(static_cast<uint32_t>(i), FromIValue(env, elems[i], mutated));
    return a;
  }
  if (iv.isList()) {
    auto l = iv.toList();
    Napi::Array a = Napi::Array::New(env, l.size());
    for (size_t i = 0; i < l.size(); i++) a.Set(static_cast<uint32_t>(i), FromIValue(env, l.get(i), mutated));
    return a;
  }
  throw Napi::TypeError::New(env, "cannot convert a result of type " + iv.tagKind() + " to JS");
}

}  // namespace streetseg
