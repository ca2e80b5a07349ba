#pragma once
// Runtime instruction-set dispatch for batch1_inference (runtime/batch1_inference.hpp), the same
// way runtime/dispatch.hpp does it for inference and trainer steps: the entries file names the
// networks and formats, hinge_add_dispatch compiles it once per arch, and
//
//     // my_entries.cpp
//     #include <hinge/runtime/batch1_dispatch_entries.hpp>
//     HINGE_DISPATCH_BATCH1(my_net, hinge::weight_format::int8)
//
//     // anywhere, baseline flags
//     hinge::dispatched_batch1_inference<my_net, hinge::weight_format::int8> infer;   // or infer("sse2")
//     auto y = infer(weights, x);
//
// picks the best arch once at construction. The weights object and its layout are the same on
// every arch (runtime/batch1_plan.hpp): convert once, in any file. The widening kernels of bf16
// and int8 (kernels/weight_widening.hpp) are compiled per arch with the rest.
#include <cstddef>
#include <span>
#include <string_view>

#include <hinge/runtime/batch1_inference.hpp>
#include <hinge/runtime/dispatch.hpp>

namespace hinge {

template <class Arch, class Net, weight_format Format = weight_format::float32,
          std::size_t Limit = batch1_straight_line_limit>
struct dispatched_batch1_entry {
    static void run(const batch1_weights<Net, Format, Limit>& weights, batch1_state<Net, Format, Limit>& state,
                    const float* x) noexcept;
};

template <class Net, weight_format Format = weight_format::float32, std::size_t Limit = batch1_straight_line_limit,
          class Archs = dispatch_archs>
class dispatched_batch1_inference {
public:
    using weights_type = batch1_weights<Net, Format, Limit>;

    dispatched_batch1_inference() : dispatched_batch1_inference(std::string_view{}) {}
    // A named arch ("avx512bw", "fma3+avx2", "sse4.2", "sse2"); std::invalid_argument when it is not
    // in Archs or this CPU cannot run it.
    explicit dispatched_batch1_inference(std::string_view arch)
        : entry_(detail::choose_entry<entry_function>(
              Archs{}, [](auto a) { return &dispatched_batch1_entry<decltype(a), Net, Format, Limit>::run; }, arch)) {}

    std::span<const float, Net::output_size> operator()(const weights_type& weights,
                                                        std::span<const float, Net::input_size> x) noexcept {
        entry_.function(weights, state_, x.data());
        return state_.output();
    }

    std::string_view arch_name() const noexcept { return entry_.arch_name; }

private:
    using entry_function = void(const weights_type&, batch1_state<Net, Format, Limit>&, const float*) noexcept;
    detail::chosen_entry<entry_function> entry_;
    batch1_state<Net, Format, Limit> state_{};
};

}  // namespace hinge
