#pragma once
// Parameters shared by the workload harnesses (batch1_mlp.hpp, training_step.hpp,
// cnn_fashion_mnist_train_batch64.cpp): He-initialised weights with small random biases
// (he_normal leaves biases at zero, which would leave the bias path unchecked), and the same
// values in double for the references and the peers' copies. Indexed by stage; a stage without
// weights (pooling, flatten) has empty vectors, so stage numbers need no translation.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <hinge/hinge.hpp>

namespace hinge_bench {

// A stage whose parameter view is a weight matrix (dense, convolution).
template <class View>
concept weight_view = requires(View v) { v.weight(0, 0); v.bias(0); };

template <class Net>
struct mlp_parameters {
    static constexpr std::size_t layers = Net::stage_count;
    std::vector<double> w[layers], b[layers];  // w[l][o * in + i], b[l][o]

    // Fills `params` and keeps a double copy; `generator` goes on to make the data.
    mlp_parameters(hinge::parameters<Net>& params, std::uint64_t seed, hinge::init::random_generator& generator) {
        hinge::init::he_normal(params, seed);
        hinge::for_each_index<layers>([&](auto index) {
            auto view = params.template layer<decltype(index)::value>();
            if constexpr (weight_view<decltype(view)>)
                for (std::size_t o = 0; o < view.output_width; ++o)
                    view.bias(o) = static_cast<float>(0.1 * (generator.uniform() - 0.5));
        });
        hinge::for_each_index<layers>([&](auto index) {
            constexpr std::size_t l = decltype(index)::value;
            const auto view = params.template layer<l>();
            if constexpr (weight_view<decltype(view)>)
                for (std::size_t o = 0; o < view.output_width; ++o) {
                    b[l].push_back(view.bias(o));
                    for (std::size_t i = 0; i < view.input_width; ++i) w[l].push_back(view.weight(o, i));
                }
        });
    }
};

}  // namespace hinge_bench
