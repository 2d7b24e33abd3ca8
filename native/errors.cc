// C++ exceptions -> JS errors: libtorch's c10 errors keep their kind (RangeError for IndexError,
// TypeError for TypeError) and carry a code (ERR_TORCH, ERR_TORCH_OOM); see Guarded in common.h.
#include "common.h"

#include <new>

namespace streetseg {

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

}  // namespace streetseg
