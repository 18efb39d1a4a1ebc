// marrow: the whole public API in one header.
#pragma once

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "eval/logistic_regression.h"
#include "eval/metrics.h"
#include "nn/losses.h"
#include "nn/optim.h"
#include "tensor/dtype.h"
#include "tensor/factory.h"
#include "tensor/format.h"
#include "tensor/random.h"
#include "tensor/safetensors.h"
#include "tensor/tensor.h"
