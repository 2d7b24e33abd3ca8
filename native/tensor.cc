// TensorWrap: the JS handle of one at::Tensor (its lifetime, the memory it reports to V8, its
// properties and autograd methods). Typed-array copies in and out are in arrays.cc.
#include "common.h"

namespace streetseg {

static int64_t g_wraps = 0;
int64_t WrapsAlive() { return g_wraps; }

AddonData* Data(Napi::BasicEnv env) { return env.GetInstanceData<AddonData>(); }

// ---------------------------------------------------------------------------------------------------
template <Napi::Value (TensorWrap::*M)(const Napi::CallbackInfo&)>
napi_value TensorWrap::Entry(napi_env env, napi_callback_info cbinfo) {
  try {
    Napi::CallbackInfo info(env, cbinfo);
    const char* name = static_cast<const char*>(info.Data());
    return Guarded(info.Env(), name, [&]() -> Napi::Value { return (Self(info, name)->*M)(info); });
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

// `this` of a method call: a live-or-disposed handle made by Wrap, never an object that merely has
// the NativeTensor prototype (Object.create(NativeTensor.prototype), a method called on another object).
TensorWrap* TensorWrap::Self(const Napi::CallbackInfo& info, const char* name) {
  Napi::Env env = info.Env();
  void* self = nullptr;
  Napi::Value thisv = info.This();
  if (!thisv.IsObject() || !IsInstance(env, thisv) || napi_unwrap(env, thisv, &self) != napi_ok || !self) {
    throw Napi::TypeError::New(env, std::string("NativeTensor.") + name + ": `this` is not a tensor handle");
  }
  return static_cast<TensorWrap*>(self);
}

namespace {
using TensorMethod = Napi::Value (TensorWrap::*)(const Napi::CallbackInfo&);

napi_property_descriptor Describe(const char* name, napi_callback method, napi_callback getter) {
  napi_property_descriptor d{};
  d.utf8name = name;
  d.method = method;
  d.getter = getter;
  d.attributes = napi_default;
  d.data = const_cast<char*>(name);  // the context of error messages (Entry)
  return d;
}
}  // namespace

Napi::Function TensorWrap::Init(Napi::Env env) {
#define GETTER(name, fn) Describe(name, nullptr, &TensorWrap::Entry<&TensorWrap::fn>)
#define METHOD(name, fn) Describe(name, &TensorWrap::Entry<&TensorWrap::fn>, nullptr)
  Napi::Function ctor = DefineClass(env, "NativeTensor", {});
  const napi_property_descriptor props[] = {
      GETTER("shape", Shape),
      GETTER("dtype", DType),
      GETTER("device", Device),
      GETTER("numel", Numel),
      GETTER("dim", Dim),
      GETTER("requiresGrad", RequiresGrad),
      GETTER("isDisposed", IsDisposed),
      GETTER("isLeaf", IsLeaf),
      GETTER("hasGradFn", HasGradFn),
      GETTER("nbytes", Nbytes),
      METHOD("setRequiresGrad", SetRequiresGrad),
      METHOD("grad", Grad),
      METHOD("setGrad", SetGrad),
      METHOD("backward", Backward),
      METHOD("detach", Detach),
      METHOD("item", Item),
      METHOD("toArray", ToArray),
      METHOD("copyFromArray", CopyFromArray),
      METHOD("dispose", Dispose),
      METHOD("isContiguous", IsContiguous),
      METHOD("sameStorage", SameStorage),
  };
#undef GETTER
#undef METHOD
  Napi::Object proto = ctor.Get("prototype").As<Napi::Object>();
  NAPI_THROW_IF_FAILED(env, napi_define_properties(env, proto, sizeof(props) / sizeof(props[0]), props), Napi::Function());
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
  void* self = nullptr;
  if (!IsInstance(env, v) || napi_unwrap(env, v, &self) != napi_ok || !self) {
    throw Napi::TypeError::New(env, std::string(what) + ": expected a Tensor");
  }
  return static_cast<TensorWrap*>(self)->Live(env);
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  Napi::Env env = info.Env();
  if (!g_pending) {
    throw Napi::TypeError::New(env, "NativeTensor cannot be constructed directly; use the streetseg tensor factories");
  }
  tensor = std::move(*g_pending);
  g_pending = nullptr;
  g_wraps++;
  Guarded(env, "NativeTensor", [&]() -> Napi::Value {
    Track(env);
    return env.Undefined();
  });
}

TensorWrap::~TensorWrap() { g_wraps--; }

// Bytes are reported to V8 per storage, not per handle: ten detach() handles of one tensor are one
// storage, and a view that outlives its base still keeps the whole storage alive.
void TensorWrap::Track(Napi::Env env) {
  AddonData* d = Data(env);
  d->liveTensors++;
  if (!tensor.defined() || !tensor.has_storage()) return;
  const c10::Storage& storage = tensor.storage();
  counted_ = storage.unsafeGetStorageImpl();
  auto it = d->storages.find(counted_);
  if (it == d->storages.end()) it = d->storages.emplace(counted_, StorageCount{storage.getWeakStorageImpl()}).first;
  StorageCount& c = it->second;
  c.handles++;
  int64_t nbytes = static_cast<int64_t>(storage.nbytes());
  if (nbytes > c.bytes) {  // a new storage, or one that grew (resize_) since it was counted
    d->externalBytes += nbytes - c.bytes;
    Napi::MemoryManagement::AdjustExternalMemory(env, nbytes - c.bytes);
    c.bytes = nbytes;
  }
}

void TensorWrap::Release(Napi::BasicEnv env) {
  if (!tensor.defined() && !counted_) return;
  AddonData* d = Data(env);
  if (tensor.defined()) d->liveTensors--;
  tensor = at::Tensor();
  if (!counted_) return;
  auto it = d->storages.find(counted_);
  counted_ = nullptr;
  if (it == d->storages.end() || --it->second.handles > 0) return;
  int64_t bytes = it->second.bytes;
  d->storages.erase(it);
  if (bytes > 0) {
    d->externalBytes -= bytes;
    Napi::MemoryManagement::AdjustExternalMemory(env, -bytes);
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
  Live(env).set_requires_grad(info[0].As<Napi::Boolean>().Value());
  return info.This();
}

Napi::Value TensorWrap::Grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& g = Live(env).grad();
  if (!g.defined()) return env.Null();
  return Wrap(env, g);
}

Napi::Value TensorWrap::SetGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = Live(env);
  if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) {
    t.mutable_grad() = at::Tensor();
  } else {
    t.mutable_grad() = Get(env, info[0], "setGrad");
  }
  return env.Undefined();
}

Napi::Value TensorWrap::Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
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
}

Napi::Value TensorWrap::Detach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Wrap(env, Live(env).detach());
}

Napi::Value TensorWrap::Item(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
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
}

Napi::Value TensorWrap::Dispose(const Napi::CallbackInfo& info) {
  Release(info.Env());
  return info.Env().Undefined();
}

}  // namespace streetseg
