#pragma once
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/optim.h>
#include <torch/serialize.h>
#include <string>
#include <vector>
