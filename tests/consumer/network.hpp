#pragma once
// The consumer's network, shared by consumer.cpp and the dispatch entries file.
#include <hinge/hinge.hpp>

namespace hn = hinge;
using net = hn::network<hn::input<1>, hn::dense<8>, hn::relu, hn::dense<1>>;
