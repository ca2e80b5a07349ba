#pragma once
// Epochs over an in-memory data set: seeded shuffling, mini-batches of the trainer's
// compile-time size (the last, partial batch is trained on, with rows < B), evaluation, a
// progress display, callbacks, learning-rate schedules and early stopping.
//
// Every buffer (the index permutation, one gathered batch, the best parameters for early
// stopping, the history) is allocated when a fitter is constructed; after that, training an
// epoch, evaluating and run() allocate nothing (tests/training/fit.cpp counts it).
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#if __has_include(<unistd.h>)
#include <unistd.h>
#define HINGE_HAVE_ISATTY 1
#else
#define HINGE_HAVE_ISATTY 0
#endif

#include <hinge/init/random.hpp>
#include <hinge/runtime/threads.hpp>
#include <hinge/runtime/trainer.hpp>

namespace hinge {

// A data set in memory, as a view: `inputs` holds samples x Net::input_size values (row-major)
// and `targets` samples x targets_per_sample (a class label, or Out values). The caller owns both.
template <class T, class Target>
struct dataset {
    std::span<const T> inputs;
    std::span<const Target> targets;
};

template <class T, class Target>
dataset(std::span<const T>, std::span<const Target>) -> dataset<T, Target>;

enum class progress_mode {
    automatic,  // a live bar when the output is a terminal, otherwise one line per epoch
    bar,        // a live bar, redrawn with '\r' at most every 0.1 s, then the epoch's line
    lines,      // one line per epoch (logs, CI, pipes)
    quiet       // nothing
};

// Stop when the monitored loss (validation loss if there is a validation set, otherwise the
// training loss) has not improved by more than min_delta for `patience` epochs in a row.
struct early_stopping {
    std::size_t patience = 0;  // 0: never stop early
    double min_delta = 0.0;
    bool restore_best = true;  // put back the parameters of the best epoch when training ends
};

struct fit_options {
    std::size_t epochs = 10;
    bool shuffle = true;
    std::uint64_t shuffle_seed = 1;  // the same seed gives the same batches, run after run
    progress_mode progress = progress_mode::automatic;
    std::FILE* output = stdout;
    early_stopping stopping{};
    // Threads for the steps and evaluations (runtime/threads.hpp): with N > 1 the fitter starts a
    // thread_team of N when it is constructed and hands it to the trainer until it is destroyed;
    // 0 or 1 leaves the trainer as it is (on the caller's thread, or on the team given to
    // trainer.use()). The same shuffle seed and thread count give the same parameters.
    std::size_t threads = 0;
};

// What one epoch did. Accuracies are NaN when the loss has none (mean squared error), the
// validation figures NaN without a validation set.
struct epoch_report {
    std::size_t epoch = 0;  // from 1
    std::size_t epochs = 0;
    std::size_t steps = 0;  // optimizer steps so far, all epochs
    double train_loss = 0;  // mean over the epoch's samples, each taken before its update
    double train_accuracy = 0;
    double validation_loss = 0;
    double validation_accuracy = 0;
    double seconds = 0;  // training time of the epoch (without the evaluation)
    double samples_per_second = 0;
    double learning_rate = 0;  // of the epoch's last step
};

// A callback's answer (a callback may also return void).
enum class fit_action { proceed, stop };

struct fit_summary {
    std::size_t epochs_run = 0;
    bool stopped_early = false;
    std::size_t best_epoch = 0;  // by the monitored loss
    double best_loss = std::numeric_limits<double>::infinity();
    double seconds = 0;  // wall time of the whole run, evaluation included
};

// The schedule used when none is given: leave the optimizer's learning_rate as it is.
struct keep_learning_rate {};

// The callback used when none is given.
struct no_callback {
    void operator()(const epoch_report&) const noexcept {}
};

inline constexpr std::size_t batches_per_epoch(std::size_t samples, std::size_t batch_size) noexcept {
    return (samples + batch_size - 1) / batch_size;
}

// Loss and accuracy of a whole data set.
struct evaluation {
    double loss = 0;
    double accuracy = 0;  // NaN without accuracy
};

namespace detail {

inline bool is_terminal(std::FILE* f) noexcept {
#if HINGE_HAVE_ISATTY
    return f != nullptr && ::isatty(::fileno(f)) != 0;
#else
    (void)f;
    return false;
#endif
}

// "1:05" or "1:02:05".
inline void print_duration(std::FILE* out, double seconds) noexcept {
    if (!(seconds >= 0) || seconds > 1e7) {
        std::fputs("--:--", out);
        return;
    }
    const auto s = static_cast<unsigned long>(seconds + 0.5);
    if (s >= 3600)
        std::fprintf(out, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
    else
        std::fprintf(out, "%lu:%02lu", s / 60, s % 60);
}

inline void print_rate(std::FILE* out, double samples_per_second) noexcept {
    if (samples_per_second >= 1e6)
        std::fprintf(out, "%5.2fM samples/s", samples_per_second / 1e6);
    else if (samples_per_second >= 1e3)
        std::fprintf(out, "%5.1fk samples/s", samples_per_second / 1e3);
    else
        std::fprintf(out, "%5.0f samples/s", samples_per_second);
}

}  // namespace detail

// fitter<Trainer, Schedule>: the epoch loop around a trainer. Construct it once (it allocates
// its buffers here and checks the data set's shape, throwing std::invalid_argument on a
// mismatch); then run(), train_epoch() and evaluate() allocate nothing.
template <class Trainer, class Schedule = keep_learning_rate>
class fitter {
public:
    using T = typename Trainer::value_type;
    using target_type = typename Trainer::target_type;
    using Net = typename Trainer::network_type;
    using data = dataset<T, target_type>;
    static constexpr std::size_t batch_size = Trainer::batch_size;
    static constexpr std::size_t input_size = Net::input_size;
    static constexpr std::size_t targets_per_sample = Trainer::targets_per_sample;

    fitter(Trainer& trainer, data train, fit_options options = {}, Schedule schedule = {})
        : trainer_(trainer),
          train_(train),
          options_(options),
          schedule_(schedule),
          samples_(checked_size(train, "training")),
          order_(samples_),
          batch_inputs_(batch_size * input_size),
          batch_targets_(batch_size * targets_per_sample),
          generator_(options.shuffle_seed) {
        if (samples_ == 0) throw std::invalid_argument("hinge::fitter: the training set is empty");
        if (samples_ > std::numeric_limits<std::uint32_t>::max())
            throw std::invalid_argument("hinge::fitter: more than 2^32 - 1 training samples");
        for (std::size_t i = 0; i < samples_; ++i) order_[i] = static_cast<std::uint32_t>(i);
        if (options_.stopping.patience > 0 && options_.stopping.restore_best)
            best_ = std::make_unique<parameters<Net, T>>();
        history_.reserve(options_.epochs);
        if (options_.output == nullptr) options_.progress = progress_mode::quiet;
        if (options_.progress == progress_mode::automatic)
            options_.progress = detail::is_terminal(options_.output) ? progress_mode::bar : progress_mode::lines;
        if (options_.threads > 1) {
            team_ = std::make_unique<thread_team>(options_.threads);
            previous_team_ = trainer_.team();
            trainer_.use(*team_);
        }
    }

    fitter(const fitter&) = delete;
    fitter& operator=(const fitter&) = delete;

    // Gives the trainer back the team it had (or none) if the fitter started its own.
    ~fitter() {
        if (team_) {
            if (previous_team_)
                trainer_.use(*previous_team_);
            else
                trainer_.use(nullptr);
        }
    }

    // Trains for options.epochs epochs (fewer if early stopping or a callback says stop),
    // evaluating on `validation` after each if it is not empty. `callback(const epoch_report&)`
    // runs after every epoch and may return fit_action::stop.
    template <class Callback>
    fit_summary run(data validation, Callback&& callback) {
        const std::size_t validation_samples =
            validation.inputs.empty() ? 0 : checked_size(validation, "validation");
        const auto start = clock::now();
        fit_summary summary{};
        std::size_t epochs_without_improvement = 0;
        for (std::size_t e = 0; e < options_.epochs; ++e) {
            epoch_report report = train_epoch();
            if (validation_samples > 0) {
                const evaluation v = evaluate(validation);
                report.validation_loss = v.loss;
                report.validation_accuracy = v.accuracy;
            } else {
                report.validation_loss = report.validation_accuracy = std::numeric_limits<double>::quiet_NaN();
            }
            history_.push_back(report);  // reserved: no allocation
            print_epoch_line(report);
            summary.epochs_run = report.epoch;

            const double monitored = validation_samples > 0 ? report.validation_loss : report.train_loss;
            if (monitored < summary.best_loss - options_.stopping.min_delta) {
                summary.best_loss = monitored;
                summary.best_epoch = report.epoch;
                epochs_without_improvement = 0;
                if (best_) *best_ = trainer_.params();
            } else {
                ++epochs_without_improvement;
            }

            bool stop = false;
            if constexpr (std::is_same_v<std::invoke_result_t<Callback&, const epoch_report&>, fit_action>)
                stop = callback(static_cast<const epoch_report&>(report)) == fit_action::stop;
            else
                callback(static_cast<const epoch_report&>(report));
            if (!stop && options_.stopping.patience > 0 && epochs_without_improvement >= options_.stopping.patience) {
                stop = true;
                summary.stopped_early = true;
                if (options_.progress != progress_mode::quiet)
                    std::fprintf(options_.output, "early stopping: no improvement for %zu epochs, best epoch %zu\n",
                                 epochs_without_improvement, summary.best_epoch);
            }
            if (stop) break;
        }
        if (best_ && summary.best_epoch != 0 && summary.best_epoch != summary.epochs_run) trainer_.params() = *best_;
        summary.seconds = seconds_since(start);
        return summary;
    }

    fit_summary run(data validation = {}) { return run(validation, no_callback{}); }

    // One epoch: shuffle the index permutation, then one step per batch of B samples gathered
    // through it (the last batch has samples mod B rows, if that is not zero).
    epoch_report train_epoch() {
        if (options_.shuffle) shuffle();
        const auto start = clock::now();
        auto last_draw = start;
        const std::size_t batches = batches_per_epoch(samples_, batch_size);
        double loss_sum = 0;
        std::size_t correct = 0;
        double rate = 0;
        for (std::size_t b = 0; b < batches; ++b) {
            const std::size_t first = b * batch_size;
            const std::size_t rows = samples_ - first < batch_size ? samples_ - first : batch_size;
            gather(first, rows);
            if constexpr (!std::is_same_v<Schedule, keep_learning_rate>)
                trainer_.optimizer().learning_rate = schedule_(steps_);
            if constexpr (requires { trainer_.optimizer().learning_rate; })
                rate = static_cast<double>(trainer_.optimizer().learning_rate);
            const T loss = trainer_.step(batch_inputs_.data(), batch_targets_.data(), rows);
            ++steps_;
            loss_sum += static_cast<double>(loss) * static_cast<double>(rows);
            correct += trainer_.count_correct(batch_targets_.data(), rows);

            if (options_.progress == progress_mode::bar) {
                const auto now = clock::now();
                if (now - last_draw >= std::chrono::milliseconds(100) || b + 1 == batches) {
                    last_draw = now;
                    draw_bar(b + 1, batches, loss_sum / static_cast<double>(first + rows), first + rows,
                             seconds_between(start, now));
                }
            }
        }
        epoch_report report{};
        report.epoch = ++epoch_;
        report.epochs = options_.epochs;
        report.steps = steps_;
        report.train_loss = loss_sum / static_cast<double>(samples_);
        report.train_accuracy = accuracy(correct, samples_);
        report.seconds = seconds_since(start);
        report.samples_per_second = static_cast<double>(samples_) / report.seconds;
        report.learning_rate = rate;
        return report;
    }

    // Mean loss and accuracy over a whole data set, in batches of B, in order.
    evaluation evaluate(data set) {
        const std::size_t n = checked_size(set, "evaluation");
        double loss_sum = 0;
        std::size_t correct = 0;
        for (std::size_t first = 0; first < n; first += batch_size) {
            const std::size_t rows = n - first < batch_size ? n - first : batch_size;
            const batch_evaluation<T> e = trainer_.evaluate(set.inputs.data() + first * input_size,
                                                            set.targets.data() + first * targets_per_sample, rows);
            loss_sum += static_cast<double>(e.loss) * static_cast<double>(rows);
            correct += e.correct;
        }
        return {n ? loss_sum / static_cast<double>(n) : 0.0, accuracy(correct, n)};
    }

    std::span<const epoch_report> history() const noexcept { return history_; }
    std::span<const std::uint32_t> order() const noexcept { return order_; }
    std::size_t steps() const noexcept { return steps_; }

private:
    using clock = std::chrono::steady_clock;

    static double seconds_between(clock::time_point a, clock::time_point b) noexcept {
        return std::chrono::duration<double>(b - a).count();
    }
    static double seconds_since(clock::time_point a) noexcept { return seconds_between(a, clock::now()); }

    static double accuracy(std::size_t correct, std::size_t samples) noexcept {
        if constexpr (!Trainer::has_accuracy) {
            (void)correct;
            (void)samples;
            return std::numeric_limits<double>::quiet_NaN();
        } else {
            return samples ? static_cast<double>(correct) /
                                 static_cast<double>(samples * Trainer::decisions_per_sample)
                           : 0.0;
        }
    }

    static std::size_t checked_size(const data& d, const char* which) {
        const std::size_t n = d.inputs.size() / input_size;
        if (d.inputs.size() % input_size != 0)
            throw std::invalid_argument(std::string("hinge::fitter: the ") + which + " inputs hold " +
                                        std::to_string(d.inputs.size()) + " values, not a multiple of the network's " +
                                        std::to_string(input_size) + " inputs per sample");
        if (d.targets.size() != n * targets_per_sample)
            throw std::invalid_argument(std::string("hinge::fitter: the ") + which + " set has " + std::to_string(n) +
                                        " samples but " + std::to_string(d.targets.size()) + " targets (expected " +
                                        std::to_string(n * targets_per_sample) + ")");
        return n;
    }

    // Fisher-Yates over the permutation, in place: no allocation, and the same seed gives the
    // same sequence of epochs.
    void shuffle() noexcept {
        for (std::size_t i = samples_ - 1; i > 0; --i) {
            const std::size_t j = static_cast<std::size_t>(generator_.next() % (i + 1));
            const std::uint32_t t = order_[i];
            order_[i] = order_[j];
            order_[j] = t;
        }
    }

    void gather(std::size_t first, std::size_t rows) noexcept {
        const T* inputs = train_.inputs.data();
        const target_type* targets = train_.targets.data();
        for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t sample = order_[first + r];
            const T* x = inputs + sample * input_size;
            T* to = batch_inputs_.data() + r * input_size;
            for (std::size_t i = 0; i < input_size; ++i) to[i] = x[i];
            const target_type* t = targets + sample * targets_per_sample;
            target_type* t_to = batch_targets_.data() + r * targets_per_sample;
            for (std::size_t i = 0; i < targets_per_sample; ++i) t_to[i] = t[i];
        }
    }

    void draw_bar(std::size_t batch, std::size_t batches, double running_loss, std::size_t samples_done,
                  double seconds) noexcept {
        constexpr int width = 20;
        std::FILE* out = options_.output;
        const int filled = static_cast<int>(static_cast<double>(width) * static_cast<double>(batch) /
                                            static_cast<double>(batches));
        const double rate = seconds > 0 ? static_cast<double>(samples_done) / seconds : 0.0;
        const std::size_t epochs_after = options_.epochs > epoch_ + 1 ? options_.epochs - epoch_ - 1 : 0;
        const double remaining_samples = static_cast<double>(samples_ - samples_done) +
                                         static_cast<double>(epochs_after) * static_cast<double>(samples_);
        std::fprintf(out, "\repoch %zu/%zu [", epoch_ + 1, options_.epochs);
        for (int i = 0; i < width; ++i) std::fputc(i < filled ? '#' : '.', out);
        std::fprintf(out, "] %zu/%zu  loss %.4f  ", batch, batches, running_loss);
        detail::print_rate(out, rate);
        std::fputs("  ", out);
        detail::print_duration(out, rate > 0 ? remaining_samples / rate : -1.0);
        std::fputs(" left \033[K", out);  // clear the rest of a longer previous line
        std::fflush(out);
    }

    void print_epoch_line(const epoch_report& r) noexcept {
        if (options_.progress == progress_mode::quiet) return;
        std::FILE* out = options_.output;
        if (options_.progress == progress_mode::bar) std::fputs("\r\033[K", out);
        std::fprintf(out, "epoch %zu/%zu  loss %.4f", r.epoch, r.epochs, r.train_loss);
        if (!std::isnan(r.train_accuracy)) std::fprintf(out, "  acc %.2f%%", 100.0 * r.train_accuracy);
        if (!std::isnan(r.validation_loss)) std::fprintf(out, "  val_loss %.4f", r.validation_loss);
        if (!std::isnan(r.validation_accuracy)) std::fprintf(out, "  val_acc %.2f%%", 100.0 * r.validation_accuracy);
        std::fprintf(out, "  %.2f s  ", r.seconds);
        detail::print_rate(out, r.samples_per_second);
        if (r.learning_rate > 0) std::fprintf(out, "  lr %.3g", r.learning_rate);
        std::fputc('\n', out);
        std::fflush(out);
    }

    Trainer& trainer_;
    data train_;
    fit_options options_;
    Schedule schedule_;
    std::size_t samples_;
    std::vector<std::uint32_t> order_;
    std::vector<T> batch_inputs_;
    std::vector<target_type> batch_targets_;
    std::unique_ptr<parameters<Net, T>> best_;
    std::vector<epoch_report> history_;
    init::random_generator generator_;
    std::size_t epoch_ = 0;
    std::size_t steps_ = 0;
    std::unique_ptr<thread_team> team_;  // options.threads > 1
    thread_team* previous_team_ = nullptr;
};

// fit(trainer, train, validation, options, schedule, callback): construct a fitter and run it.
// Returns the summary; the trainer's parameters are the trained (or, with early stopping and
// restore_best, the best) ones.
template <class Trainer, class Schedule = keep_learning_rate, class Callback = no_callback>
fit_summary fit(Trainer& trainer, dataset<typename Trainer::value_type, typename Trainer::target_type> train,
                dataset<typename Trainer::value_type, typename Trainer::target_type> validation = {},
                fit_options options = {}, Schedule schedule = {}, Callback callback = {}) {
    fitter<Trainer, Schedule> f(trainer, train, options, schedule);
    return f.run(validation, callback);
}

}  // namespace hinge
