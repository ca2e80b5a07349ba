#pragma once
// Losses that take raw logits. softmax_cross_entropy and binary_cross_entropy_with_logits apply
// their own softmax / sigmoid, so an element-wise activation on the last stage (a sigmoid before
// binary_cross_entropy_with_logits, say) squashes the outputs twice: legal C++, and a network
// that trains badly without saying why. trainer<Net, Loss, ...> rejects it at compile time; a
// network that means it (a bounded logit such as 10 tanh(z), say) wraps the loss in
// after_activation<Loss>.
namespace hinge::loss {

// A loss says that it applies its own softmax or sigmoid with `static constexpr bool
// expects_logits = true;`.
template <class Loss>
inline constexpr bool expects_logits = requires { requires Loss::expects_logits; };

// after_activation<Loss>: Loss, on outputs that have been through an element-wise activation on
// purpose. The named opt-in for trainer's check: trainer<Net, after_activation<Loss>, ...>.
template <class Loss>
struct after_activation : Loss {
    using wrapped_loss = Loss;
    static constexpr bool expects_logits = false;
};

}  // namespace hinge::loss
