// JS values <-> IValues for the boxed operator call (dispatch.cc): each argument is checked against
// its schema type, so a wrong value is a TypeError naming the operator and the argument instead of a
// crash inside libtorch.
#pragma once
#include "common.h"

#include <string>
#include <utility>
#include <vector>

namespace streetseg {

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;  // "aten::add.Tensor", for error messages
};

// Tensors an in-place op writes, with the JS handle each came from: a result that is one of them is
// handed back as that handle, not as a second owner.
using MutatedTensors = std::vector<std::pair<at::TensorImpl*, Napi::Value>>;

// A TypeError "<op>: argument '<name>' (<type>): <msg>".
[[noreturn]] void ArgError(Napi::Env env, const OpEntry& op, const c10::Argument& arg, const std::string& msg);

// The IValue of JS value v for argument arg of type `type` (realType: the declared type behind an
// alias such as ScalarType; N: the fixed size of an int[N] list).
c10::IValue ToIValue(Napi::Env env, const OpEntry& op, const c10::Argument& arg, const c10::TypePtr& type,
                     const c10::TypePtr& realType, const Napi::Value& v, c10::optional<int32_t> N);

// A result as JS: tensors (null when undefined), numbers, booleans, strings, arrays.
Napi::Value FromIValue(Napi::Env env, const c10::IValue& iv, const MutatedTensors& mutated);

}  // namespace streetseg
