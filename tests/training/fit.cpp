// fit/fitter: the epoch loop. Every sample once per epoch with the last partial batch trained
// on; seeded shuffling; early stopping restoring the best parameters; callbacks; schedules;
// progress output for terminals and logs; and no allocation after construction. Also the path
// the demo takes, end to end on a small synthetic IDX data set: write, read, fit, evaluate.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <zlib.h>

#include <hinge/hinge.hpp>
#include <hinge/io/idx.hpp>

#include "../allocation_counter.hpp"

namespace hn = hinge;

namespace {

// Three Gaussian-ish blobs in 4 dimensions, labelled by blob, from a fixed seed.
struct blobs {
    std::vector<float> x;
    std::vector<std::uint32_t> labels;
    blobs(std::size_t n, std::uint64_t seed) {
        hn::init::random_generator random(seed);
        for (std::size_t i = 0; i < n; ++i) {
            const auto label = static_cast<std::uint32_t>(random.next() % 3);
            labels.push_back(label);
            for (std::size_t d = 0; d < 4; ++d)
                x.push_back(static_cast<float>((d == label ? 2.0 : 0.0) + 0.6 * random.normal()));
        }
    }
    hn::dataset<float, std::uint32_t> data() const { return {x, labels}; }
};

using blob_net = hn::network<hn::input<4>, hn::dense<16>, hn::relu, hn::dense<3>>;
using blob_trainer = hn::trainer<blob_net, hn::loss::softmax_cross_entropy, hn::optim::adam, hn::batch<32>>;

hn::fit_options quiet(std::size_t epochs) {
    hn::fit_options o;
    o.epochs = epochs;
    o.progress = hn::progress_mode::quiet;
    return o;
}

// Gradient ascent: makes the loss rise every epoch, so early stopping has something to stop.
struct ascent {
    float learning_rate = 0.01f;
    template <class Net, class T>
    void update(hn::parameters<Net, T>& p, const hn::gradients<Net, T>& g) noexcept {
        for (std::size_t i = 0; i < hn::parameters<Net, T>::trainable_size; ++i)
            p.data()[i] += static_cast<T>(learning_rate) * g.data()[i];
    }
};

struct no_update {
    template <class Net, class T>
    void update(hn::parameters<Net, T>&, const hn::gradients<Net, T>&) noexcept {}
};

std::string read_all(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string s;
    for (int c; (c = std::fgetc(f)) != EOF;) s.push_back(static_cast<char>(c));
    return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fit)

BOOST_AUTO_TEST_CASE(fit_learns_separable_blobs_and_reports_accuracy) {
    const blobs train_set(600, 1), test_set(300, 2);
    hn::parameters<blob_net> p;
    hn::init::he_normal(p, 1);
    auto train = std::make_unique<blob_trainer>(p, hn::optim::adam{0.01f});
    hn::fitter<blob_trainer> f(*train, train_set.data(), quiet(15));
    const hn::fit_summary summary = f.run(test_set.data());
    BOOST_TEST(summary.epochs_run == 15u);
    BOOST_TEST(!summary.stopped_early);
    BOOST_TEST(f.history().size() == 15u);
    BOOST_TEST(f.history().back().validation_accuracy > 0.95);
    BOOST_TEST(f.history().back().train_loss < f.history().front().train_loss);
    const hn::evaluation e = f.evaluate(test_set.data());
    BOOST_TEST(e.accuracy == f.history().back().validation_accuracy);
}

BOOST_AUTO_TEST_CASE(every_sample_counts_once_per_epoch_including_the_last_partial_batch) {
    // 100 samples in batches of 32: three full batches and one of 4. With parameters that do
    // not move, the epoch's mean training loss (each batch weighted by its rows) must equal the
    // loss of the whole set evaluated in order, which it cannot if the 4 were dropped or
    // weighted as a full batch.
    const blobs set(100, 3);
    hn::parameters<blob_net> p;
    hn::init::he_normal(p, 2);
    using frozen = hn::trainer<blob_net, hn::loss::softmax_cross_entropy, no_update, hn::batch<32>>;
    auto train = std::make_unique<frozen>(p);
    hn::fitter<frozen> f(*train, set.data(), quiet(2));
    const hn::epoch_report r = f.train_epoch();
    BOOST_TEST(r.steps == 4u);
    BOOST_TEST(f.steps() == 4u);
    const hn::evaluation whole = f.evaluate(set.data());
    BOOST_TEST(r.train_loss == whole.loss, boost::test_tools::tolerance(1e-6));
    BOOST_TEST(r.train_accuracy == whole.accuracy);

    // The permutation is a permutation.
    std::vector<int> seen(100, 0);
    for (std::uint32_t i : f.order()) ++seen[i];
    BOOST_TEST(std::count(seen.begin(), seen.end(), 1) == 100);
}

BOOST_AUTO_TEST_CASE(shuffling_is_seeded) {
    const blobs set(64, 4);
    hn::parameters<blob_net> p;
    auto train = std::make_unique<blob_trainer>(p);
    auto order_after_one_epoch = [&](std::uint64_t seed) {
        hn::fit_options o = quiet(1);
        o.shuffle_seed = seed;
        hn::fitter<blob_trainer> f(*train, set.data(), o);
        f.train_epoch();
        return std::vector<std::uint32_t>(f.order().begin(), f.order().end());
    };
    const auto a = order_after_one_epoch(7), b = order_after_one_epoch(7), c = order_after_one_epoch(8);
    BOOST_TEST(a == b);
    BOOST_TEST(a != c);
    std::vector<std::uint32_t> identity(64);
    for (std::uint32_t i = 0; i < 64; ++i) identity[i] = i;
    BOOST_TEST(a != identity);

    hn::fit_options unshuffled = quiet(1);
    unshuffled.shuffle = false;
    hn::fitter<blob_trainer> f(*train, set.data(), unshuffled);
    f.train_epoch();
    BOOST_TEST(std::vector<std::uint32_t>(f.order().begin(), f.order().end()) == identity);
}

BOOST_AUTO_TEST_CASE(early_stopping_stops_after_patience_and_restores_the_best_parameters) {
    const blobs set(96, 5);
    hn::parameters<blob_net> p;
    hn::init::he_normal(p, 3);
    using rising = hn::trainer<blob_net, hn::loss::softmax_cross_entropy, ascent, hn::batch<32>>;
    auto train = std::make_unique<rising>(p, ascent{0.05f});
    hn::fit_options o = quiet(20);
    o.stopping.patience = 2;
    hn::fitter<rising> f(*train, set.data(), o);
    auto after_first_epoch = std::make_unique<hn::parameters<blob_net>>();
    const hn::fit_summary s = f.run(set.data(), [&](const hn::epoch_report& r) {
        if (r.epoch == 1) *after_first_epoch = p;
    });
    BOOST_TEST(s.stopped_early);
    BOOST_TEST(s.epochs_run == 3u);  // epoch 1 is the best; 2 and 3 do not improve
    BOOST_TEST(s.best_epoch == 1u);
    BOOST_TEST(s.best_loss == f.history()[0].validation_loss);
    BOOST_TEST(f.history()[2].validation_loss > f.history()[0].validation_loss);
    BOOST_TEST((p == *after_first_epoch));
}

BOOST_AUTO_TEST_CASE(a_callback_can_stop_training_and_sees_every_epoch) {
    const blobs set(64, 6);
    hn::parameters<blob_net> p;
    hn::init::he_normal(p, 4);
    auto train = std::make_unique<blob_trainer>(p);
    std::vector<std::size_t> epochs;
    const hn::fit_summary s =
        hn::fit(*train, set.data(), {}, quiet(10), hn::keep_learning_rate{}, [&](const hn::epoch_report& r) {
            epochs.push_back(r.epoch);
            return r.epoch == 4 ? hn::fit_action::stop : hn::fit_action::proceed;
        });
    BOOST_TEST(s.epochs_run == 4u);
    BOOST_TEST(!s.stopped_early);  // stopped by the callback, not by early stopping
    BOOST_TEST(epochs == (std::vector<std::size_t>{1, 2, 3, 4}));
}

BOOST_AUTO_TEST_CASE(the_schedule_sets_the_learning_rate_of_every_step) {
    const blobs set(100, 7);  // 4 steps per epoch
    hn::parameters<blob_net> p;
    hn::init::he_normal(p, 5);
    auto train = std::make_unique<blob_trainer>(p);
    const hn::optim::step_decay schedule{0.1f, 0.5f, 4};  // halves every epoch
    hn::fitter<blob_trainer, hn::optim::step_decay> f(*train, set.data(), quiet(3), schedule);
    f.run();
    BOOST_TEST(f.history()[0].learning_rate == 0.1, boost::test_tools::tolerance(1e-7));
    BOOST_TEST(f.history()[1].learning_rate == 0.05, boost::test_tools::tolerance(1e-7));
    BOOST_TEST(f.history()[2].learning_rate == 0.025, boost::test_tools::tolerance(1e-7));
    BOOST_TEST(train->optimizer().learning_rate == schedule(11));
    BOOST_TEST(train->optimizer_state().steps == 12u);
}

BOOST_AUTO_TEST_CASE(progress_is_a_bar_on_a_terminal_and_one_line_per_epoch_otherwise) {
    const blobs set(64, 8);
    hn::parameters<blob_net> p;
    hn::init::he_normal(p, 6);
    auto train = std::make_unique<blob_trainer>(p);

    std::FILE* log = std::tmpfile();
    BOOST_REQUIRE(log);
    hn::fit_options o = quiet(3);
    o.progress = hn::progress_mode::automatic;  // a file is not a terminal: lines
    o.output = log;
    hn::fitter<blob_trainer>(*train, set.data(), o).run(set.data());
    const std::string lines = read_all(log);
    std::fclose(log);
    BOOST_TEST(std::count(lines.begin(), lines.end(), '\n') == 3);
    BOOST_TEST(lines.find('\r') == std::string::npos);
    BOOST_TEST(lines.find("epoch 3/3  loss ") != std::string::npos, lines);
    BOOST_TEST(lines.find("val_acc") != std::string::npos);
    BOOST_TEST(lines.find("samples/s") != std::string::npos);

    std::FILE* screen = std::tmpfile();
    BOOST_REQUIRE(screen);
    o.progress = hn::progress_mode::bar;
    o.output = screen;
    hn::fitter<blob_trainer>(*train, set.data(), o).run();
    const std::string bar = read_all(screen);
    std::fclose(screen);
    BOOST_TEST(bar.find("\repoch 1/3 [####################] 2/2  loss ") != std::string::npos, bar);
    BOOST_TEST(bar.find(" left") != std::string::npos);
    BOOST_TEST(std::count(bar.begin(), bar.end(), '\n') == 3);
}

BOOST_AUTO_TEST_CASE(mismatched_data_sets_are_refused_with_the_sizes) {
    hn::parameters<blob_net> p;
    auto train = std::make_unique<blob_trainer>(p);
    const std::vector<float> x(4 * 10);
    const std::vector<std::uint32_t> nine_labels(9);
    std::string message;
    try {
        hn::fitter<blob_trainer> f(*train, {x, nine_labels});
    } catch (const std::invalid_argument& e) {
        message = e.what();
    }
    BOOST_TEST(message.find("training set has 10 samples but 9 targets") != std::string::npos, message);
    const std::vector<float> ragged(4 * 10 + 1);
    const std::vector<std::uint32_t> ten_labels(10);
    BOOST_CHECK_THROW((hn::fitter<blob_trainer>(*train, {ragged, ten_labels})), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(epochs_evaluation_and_progress_allocate_nothing_after_construction) {
    const blobs train_set(200, 9), test_set(70, 10);  // partial last batches in both
    hn::parameters<blob_net> p;
    hn::init::he_normal(p, 7);
    auto train = std::make_unique<blob_trainer>(p);
    for (hn::progress_mode mode : {hn::progress_mode::quiet, hn::progress_mode::lines, hn::progress_mode::bar}) {
        std::FILE* out = std::tmpfile();
        BOOST_REQUIRE(out);
        std::fputs("warm-up\n", out);  // the stream's buffer is allocated on first use
        std::fflush(out);
        hn::fit_options o = quiet(3);
        o.progress = mode;
        o.output = out;
        o.stopping.patience = 5;  // the best-parameter copy is made at construction
        const hn::optim::warm_up<hn::optim::cosine_decay> schedule{5, {0.01f, 0.f, 30}};
        hn::fitter<blob_trainer, hn::optim::warm_up<hn::optim::cosine_decay>> f(*train, train_set.data(), o,
                                                                                 schedule);
        double sink = 0;
        const std::size_t n = hinge_test_allocations_during([&] {
            sink += f.train_epoch().train_loss;
            sink += f.evaluate(test_set.data()).accuracy;
            sink += f.run(test_set.data()).best_loss;  // shuffle, steps, evaluation, progress, callbacks
        });
        std::fclose(out);
        BOOST_TEST_CONTEXT("progress mode " << static_cast<int>(mode)) {
            BOOST_TEST(n == 0u);
            BOOST_TEST(std::isfinite(sink));
        }
    }
}

BOOST_AUTO_TEST_CASE(a_synthetic_idx_data_set_goes_from_gzip_files_to_a_trained_model) {
    // The demo's path in miniature: 8x8 "images" of 4 classes (a bright quadrant per class plus
    // noise), written as gzip IDX files, read back, trained with Adam, tested on held-out files.
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("hinge_fit_idx_" + std::to_string(std::rand()));
    std::filesystem::create_directories(dir);
    auto write = [&](const std::string& name, std::uint32_t count, std::uint64_t seed) {
        hn::init::random_generator random(seed);
        std::vector<unsigned char> images{0, 0, 8, 3}, labels{0, 0, 8, 1};
        for (std::vector<unsigned char>* b : {&images, &labels}) {
            for (int shift = 24; shift >= 0; shift -= 8) b->push_back(static_cast<unsigned char>(count >> shift));
        }
        for (std::uint32_t d : {8u, 8u})
            for (int shift = 24; shift >= 0; shift -= 8) images.push_back(static_cast<unsigned char>(d >> shift));
        for (std::uint32_t i = 0; i < count; ++i) {
            const auto label = static_cast<unsigned>(random.next() % 4);
            labels.push_back(static_cast<unsigned char>(label));
            for (unsigned r = 0; r < 8; ++r)
                for (unsigned c = 0; c < 8; ++c) {
                    const bool lit = (r / 4) * 2 + c / 4 == label;
                    const double v = (lit ? 150.0 : 40.0) + 50.0 * random.uniform();
                    images.push_back(static_cast<unsigned char>(v));
                }
        }
        for (auto [suffix, bytes] : {std::pair{"-images.gz", &images}, std::pair{"-labels.gz", &labels}}) {
            gzFile f = gzopen((dir / (name + suffix)).c_str(), "wb");
            gzwrite(f, bytes->data(), static_cast<unsigned>(bytes->size()));
            gzclose(f);
        }
    };
    write("train", 500, 1);
    write("test", 200, 2);
    const auto train_set = hn::io::read_labelled_images((dir / "train-images.gz").string(),
                                                        (dir / "train-labels.gz").string(), 4);
    const auto test_set =
        hn::io::read_labelled_images((dir / "test-images.gz").string(), (dir / "test-labels.gz").string(), 4);
    std::filesystem::remove_all(dir);

    using net = hn::network<hn::input<64>, hn::dense<32>, hn::relu, hn::dense<4>>;
    using trainer_type = hn::trainer<net, hn::loss::softmax_cross_entropy, hn::optim::adam, hn::batch<16>>;
    hn::parameters<net> p;
    hn::init::he_normal(p, 1);
    auto train = std::make_unique<trainer_type>(p, hn::optim::adam{0.005f});
    const hn::dataset<float, std::uint32_t> train_data{train_set.inputs.pixels, train_set.labels};
    const hn::dataset<float, std::uint32_t> test_data{test_set.inputs.pixels, test_set.labels};
    const hn::optim::cosine_decay schedule{0.005f, 0.f, 5 * hn::batches_per_epoch(500, 16)};
    hn::fitter<trainer_type, hn::optim::cosine_decay> f(*train, train_data, quiet(5), schedule);
    f.run(test_data);
    BOOST_TEST(f.history().back().validation_accuracy > 0.97);
}

BOOST_AUTO_TEST_SUITE_END()
