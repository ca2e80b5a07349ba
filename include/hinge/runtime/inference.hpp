#pragma once
#include <span>

#include <hinge/runtime/passes.hpp>

namespace hinge {

// inference<Net, T>: batch-1 evaluation with its own small workspace. Calling it performs no
// allocation and no virtual call and takes a bounded time; the returned span points into this
// object and stays valid until the next call. One object per thread: parameters may be shared.
template <class Net, class T = float>
class inference {
public:
    std::span<const T, Net::output_size> operator()(const parameters<Net, T>& params,
                                                    std::span<const T, Net::input_size> x) noexcept {
        forward(params, workspace_, x.data(), 1);
        return workspace_.output(0);
    }

private:
    workspace<Net, 1, T, false> workspace_{};
};

}  // namespace hinge
