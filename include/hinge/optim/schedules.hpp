#pragma once
// Learning-rate schedules: a schedule is a value with `float operator()(std::size_t step) const`,
// the learning rate for update number `step` (counted from 0 over the whole run). fit() assigns
// it to the optimizer's learning_rate before every step; a hand-written loop does the same:
//
//     train.optimizer().learning_rate = schedule(step);
//
// They are plain aggregates, cheap to copy, and compose: warm_up<cosine_decay>{...}.
#include <cmath>
#include <cstddef>

namespace hinge::optim {

// The same rate at every step.
struct constant_rate {
    float rate = 1e-3f;
    float operator()(std::size_t) const noexcept { return rate; }
};

// rate = initial * factor^floor(step / every): e.g. divide by 10 every 10 epochs' worth of steps.
struct step_decay {
    float initial = 1e-3f;
    float factor = 0.1f;
    std::size_t every = 1000;  // steps; 0 means never
    float operator()(std::size_t step) const noexcept {
        if (every == 0) return initial;
        return static_cast<float>(static_cast<double>(initial) *
                                  std::pow(static_cast<double>(factor), static_cast<double>(step / every)));
    }
};

// Cosine annealing (Loshchilov and Hutter, without restarts) from `initial` at step 0 to `minimum`
// at step `total` and after: rate = minimum + (initial - minimum) * (1 + cos(pi * step / total)) / 2.
struct cosine_decay {
    float initial = 1e-3f;
    float minimum = 0.f;
    std::size_t total = 1000;  // steps
    float operator()(std::size_t step) const noexcept {
        if (total == 0 || step >= total) return minimum;
        const double progress = static_cast<double>(step) / static_cast<double>(total);
        const double cosine = 0.5 * (1.0 + std::cos(3.141592653589793 * progress));
        return static_cast<float>(static_cast<double>(minimum) +
                                  (static_cast<double>(initial) - static_cast<double>(minimum)) * cosine);
    }
};

// Linear warm-up over the first `steps` updates, from then_schedule(0) / steps up to
// then_schedule(0), then `then_schedule` with its step count starting again from 0.
template <class Schedule>
struct warm_up {
    std::size_t steps = 100;
    Schedule then_schedule{};
    float operator()(std::size_t step) const noexcept {
        if (step < steps)
            return then_schedule(0) * static_cast<float>(step + 1) / static_cast<float>(steps);
        return then_schedule(step - steps);
    }
};

template <class Schedule>
warm_up(std::size_t, Schedule) -> warm_up<Schedule>;

}  // namespace hinge::optim
