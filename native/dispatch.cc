// The generic operator entry point: any ATen operator, by schema name and overload, through the
// dispatcher's boxed call. Arguments are validated against the schema before IValues are built, every
// argument is pushed (defaults included), and results come back as tensors, numbers, arrays or null.
#include "ivalue.h"

#include <cmath>
#include <deque>
#include <unordered_map>
#include <vector>

namespace streetseg {
namespace {

// A deque, not a vector: CallOp holds a reference to its entry while JS runs (getters read during
// argument conversion, kwargs proxies), and that JS may resolve new ops. push_back on a deque never
// moves existing elements, so the reference stays valid.
std::deque<OpEntry>& Ops() {
  static std::deque<OpEntry> ops;
  return ops;
}

// op(name: string, overload: string) -> id. The schema lookup by string is the expensive part, so TS
// resolves each operator once and keeps the id.
Napi::Value ResolveOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    throw Napi::TypeError::New(env, "resolveOp(name, overload): expected two strings, e.g. ('aten::add', 'Tensor')");
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string overload = info[1].As<Napi::String>().Utf8Value();
  if (name.find("::") == std::string::npos) name = "aten::" + name;
  static std::unordered_map<std::string, size_t> byName;
  std::string full = overload.empty() ? name : name + "." + overload;
  auto it = byName.find(full);
  if (it != byName.end()) return Napi::Number::New(env, static_cast<double>(it->second));
  auto h = c10::Dispatcher::singleton().findSchema(c10::OperatorName(name, overload));
  if (!h) throw Napi::Error::New(env, "unknown operator " + full + " (no such schema in this libtorch)");
  for (const auto& a : h->schema().arguments()) {
    if (a.is_out()) throw Napi::Error::New(env, full + ": out= variants are not part of the streetseg surface");
  }
  Ops().push_back(OpEntry{*h, full});
  size_t id = Ops().size() - 1;
  byName.emplace(full, id);
  return Napi::Number::New(env, static_cast<double>(id));
}

// An id from resolveOp: a whole number below the table size (NaN would otherwise convert to 0).
size_t OpId(Napi::Env env, const Napi::Value& v, const char* ctx) {
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d < static_cast<double>(Ops().size())) || d != std::floor(d)) {
    throw Napi::RangeError::New(env, std::string(ctx) + ": unknown op id " + std::to_string(d));
  }
  return static_cast<size_t>(d);
}

Napi::Value OpSchema(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "opSchema(id): expected an op id");
  size_t id = OpId(env, info[0], "opSchema");
  return Napi::String::New(env, c10::toString(Ops()[id].handle.schema()));
}

// call(id, args: any[], kwargs?: object) -> result
Napi::Value CallOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsArray()) {
    throw Napi::TypeError::New(env, "callOp(id, args[, kwargs]): bad arguments");
  }
  size_t id = OpId(env, info[0], "callOp");
  const OpEntry& op = Ops()[id];
  const c10::FunctionSchema& schema = op.handle.schema();
  const auto& args = schema.arguments();
  Napi::Array pos = info[1].As<Napi::Array>();
  uint32_t npos = pos.Length();
  Napi::Object kw;
  bool hasKw = info.Length() > 2 && info[2].IsObject() && !info[2].IsNull();
  uint32_t kwUsed = 0;
  if (hasKw) kw = info[2].As<Napi::Object>();
  if (npos > args.size()) {
    throw Napi::TypeError::New(env, op.name + ": takes " + std::to_string(args.size()) + " arguments, got " + std::to_string(npos));
  }

  torch::jit::Stack stack;
  stack.reserve(args.size());
  MutatedTensors mutated;
  for (size_t i = 0; i < args.size(); i++) {
    const c10::Argument& a = args[i];
    Napi::Value v;
    bool given = false;
    if (i < npos) {
      if (a.kwarg_only()) ArgError(env, op, a, "is keyword-only; pass it in kwargs");
      v = pos.Get(static_cast<uint32_t>(i));
      given = !v.IsUndefined();
    }
    if (!given && hasKw && kw.Has(a.name())) {
      v = kw.Get(a.name());
      given = !v.IsUndefined();
      kwUsed++;
    }
    if (given) {
      stack.push_back(ToIValue(env, op, a, a.type(), a.real_type(), v, a.N()));
      if (a.alias_info() && a.alias_info()->isWrite() && stack.back().isTensor()) {
        mutated.emplace_back(stack.back().toTensor().unsafeGetTensorImpl(), v);
      }
    } else if (a.default_value()) {
      stack.push_back(*a.default_value());
    } else {
      ArgError(env, op, a, "is required");
    }
  }
  if (hasKw) {
    Napi::Array keys = kw.GetPropertyNames();
    if (keys.Length() != kwUsed) {
      for (uint32_t k = 0; k < keys.Length(); k++) {
        std::string key = keys.Get(k).As<Napi::String>().Utf8Value();
        bool known = false;
        for (const auto& a : args) known = known || a.name() == key;
        if (!known) throw Napi::TypeError::New(env, op.name + ": unknown keyword argument '" + key + "'");
      }
    }
  }
  try {
    op.handle.callBoxed(stack);
  } catch (...) {
    ThrowTorchError(env, op.name);
  }
  size_t nret = schema.returns().size();
  if (nret == 0) return env.Undefined();
  if (nret == 1) return FromIValue(env, stack[0], mutated);
  Napi::Array out = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); i++) out.Set(static_cast<uint32_t>(i), FromIValue(env, stack[i], mutated));
  return out;
}

}  // namespace

void InitDispatch(Napi::Env env, Napi::Object exports) {
  Export<ResolveOp>(env, exports, "resolveOp");
  Export<OpSchema>(env, exports, "opSchema");
  Export<CallOp>(env, exports, "callOp");
}

}  // namespace streetseg
