#pragma once
// The Fashion-MNIST training program shared by the demos (fashion_mnist.cpp: an MLP;
// fashion_mnist_cnn.cpp: a CNN): reads Debian's dataset-fashion-mnist IDX files, trains with Adam
// and cosine decay through hinge::fitter, prints one line per epoch (a live bar on a terminal),
// the test accuracy, the time per epoch and the batch-1 latency of the trained model, and writes
// the learning curve as CSV (with '#' header lines naming the model and the --min-accuracy target).
//
//   <program> [--data DIR] [--epochs N] [--limit N] [--csv FILE] [--seed N] [--min-accuracy P] [--save FILE]
//             [--threads N]
//
// --threads N trains and evaluates on a hinge::thread_team of N threads (fit_options::threads;
// default 1). The same seed and thread count give the same model.
//
// --save writes the trained parameters with hinge::io::save (examples/fashion_mnist_reduced_precision.cpp
// reads them back to measure bf16 / int8 weights).
//
// --limit trains on the first N training images only (the CTest smoke runs use it). Exit code 77
// means the data set is not installed (CTest reports the test as skipped).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <hinge/hinge.hpp>
#include <hinge/io/idx.hpp>
#include <hinge/io/save.hpp>

namespace fashion_mnist {

namespace hn = hinge;

constexpr std::size_t batch_size = 64;

struct settings {
    std::string program = "fashion_mnist";
    std::string data = "/usr/share/datasets/fashion-mnist";
    std::size_t epochs = 15;
    std::size_t limit = 0;  // 0: all 60,000
    std::string csv = "fashion_mnist_learning_curve.csv";
    std::uint64_t seed = 1;
    double min_accuracy = 0.0;  // exit 1 below this test accuracy (in %)
    float learning_rate = 1e-3f;
    std::size_t latency_images = 10000;  // test images timed at batch 1, per round
    std::string save;                    // empty: do not save the trained parameters
    std::size_t threads = 1;             // --threads: the thread team's size for training
};

inline settings parse(int argc, char** argv, settings s) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s: %s needs a value\n", s.program.c_str(), arg.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--data") s.data = value();
        else if (arg == "--epochs") s.epochs = std::stoul(value());
        else if (arg == "--limit") s.limit = std::stoul(value());
        else if (arg == "--csv") s.csv = value();
        else if (arg == "--seed") s.seed = std::stoull(value());
        else if (arg == "--save") s.save = value();
        else if (arg == "--min-accuracy") s.min_accuracy = std::stod(value());
        else if (arg == "--learning-rate") s.learning_rate = std::stof(value());
        else if (arg == "--threads") s.threads = std::max<std::size_t>(1, std::stoul(value()));
        else {
            std::fprintf(stderr, "usage: %s [--data DIR] [--epochs N] [--limit N] [--csv FILE] [--seed N] "
                                 "[--min-accuracy PERCENT] [--learning-rate R] [--threads N]\n", s.program.c_str());
            std::exit(2);
        }
    }
    return s;
}

// The package ships the files gzip-compressed; accept unpacked copies too.
inline std::string find_file(const std::string& dir, const std::string& stem) {
    for (const char* suffix : {".gz", ""}) {
        const std::string path = dir + "/" + stem + suffix;
        if (std::filesystem::exists(path)) return path;
    }
    return dir + "/" + stem + ".gz";  // the reader's error names it
}

// Trains Model with Adam, batch 64 and cosine decay, prints the report; the process exit code.
// description: the model in words, for the report.
template <class Model>
int train_on_fashion_mnist(int argc, char** argv, settings defaults, const char* description) try {
    using model = Model;
    using trainer_type = hn::trainer<model, hn::loss::softmax_cross_entropy, hn::optim::adam, hn::batch<batch_size>>;
    const settings s = parse(argc, argv, defaults);
    if (!std::filesystem::exists(s.data + "/train-images-idx3-ubyte.gz") &&
        !std::filesystem::exists(s.data + "/train-images-idx3-ubyte")) {
        std::fprintf(stderr,
                     "%s: no data in %s\n"
                     "  install it with: apt-get install dataset-fashion-mnist  (or run ./quickstart.sh demo)\n",
                     s.program.c_str(), s.data.c_str());
        return 77;
    }

    // Flush-to-zero and denormals-are-zero for this thread (runtime/denormals.hpp). Without it,
    // Adam's tiny second moments and gradients become subnormal as training converges, and every
    // operation on them takes a slow microcode path: measured on a Sapphire Rapids guest (g++ 12,
    // AVX-512), epoch 1 took 0.68 s and epochs 4-15 1.5-1.7 s; with the guard every epoch took
    // 0.57-0.59 s. Values below 1.2e-38 become 0, which changes the last digits of the loss.
    const hn::flush_denormals_guard denormals_flushed;
    const auto load_start = std::chrono::steady_clock::now();
    const hn::io::labelled_images train_set = hn::io::read_labelled_images(
        find_file(s.data, "train-images-idx3-ubyte"), find_file(s.data, "train-labels-idx1-ubyte"));
    const hn::io::labelled_images test_set = hn::io::read_labelled_images(
        find_file(s.data, "t10k-images-idx3-ubyte"), find_file(s.data, "t10k-labels-idx1-ubyte"));
    if (train_set.inputs.pixels_per_image() != model::input_size) {
        std::fprintf(stderr, "%s: images have %zu pixels, the model takes %zu\n", s.program.c_str(),
                     train_set.inputs.pixels_per_image(), model::input_size);
        return 1;
    }
    const double load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    const std::size_t train_count = s.limit ? std::min(s.limit, train_set.size()) : train_set.size();
    std::printf("Fashion-MNIST: %zu training and %zu test images of %zux%zu (read in %.2f s)\n", train_count,
                test_set.size(), train_set.inputs.rows, train_set.inputs.cols, load_seconds);
    std::printf("model %s, %zu parameters; Adam, learning rate %g with cosine decay, batch %zu, %zu epochs, "
                "%zu thread%s\n",
                description, model::parameter_count, static_cast<double>(s.learning_rate), batch_size, s.epochs,
                s.threads, s.threads == 1 ? "" : "s");

    // Storage is the caller's and allocated once: parameters, the trainer (gradients, Adam's
    // two moment blocks, the workspace) and the fitter's permutation and batch buffers.
    auto params = std::make_unique<hn::parameters<model>>();
    hn::init::he_normal(*params, s.seed);
    auto train = std::make_unique<trainer_type>(*params, hn::optim::adam{s.learning_rate});

    const hn::dataset<float, std::uint32_t> train_data{
        std::span<const float>(train_set.inputs.pixels.data(), train_count * model::input_size),
        std::span<const std::uint32_t>(train_set.labels.data(), train_count)};
    const hn::dataset<float, std::uint32_t> test_data{std::span<const float>(test_set.inputs.pixels),
                                                      std::span<const std::uint32_t>(test_set.labels)};

    const std::size_t total_steps = s.epochs * hn::batches_per_epoch(train_count, batch_size);
    const hn::optim::cosine_decay schedule{s.learning_rate, 0.f, total_steps};
    hn::fit_options options;
    options.epochs = s.epochs;
    options.shuffle_seed = s.seed;
    options.threads = s.threads;
    // The test set is evaluated after every epoch to draw the learning curve; nothing is chosen
    // by it (no early stopping here), so the final test accuracy is an honest estimate.
    hn::fitter<trainer_type, hn::optim::cosine_decay> fitter(*train, train_data, options, schedule);
    const hn::fit_summary summary = fitter.run(test_data);

    // Learning curve. The '#' header lines describe the run, so that examples/plot_learning_curve.py
    // titles the picture for this model and draws this run's target, not another demo's.
    if (std::FILE* csv = std::fopen(s.csv.c_str(), "w")) {
        std::fprintf(csv, "# title: hinge on Fashion-MNIST: %s; Adam, batch %zu, %zu epochs\n", description, batch_size,
                     s.epochs);
        if (s.min_accuracy > 0) std::fprintf(csv, "# target_accuracy_percent: %g\n", s.min_accuracy);
        std::fprintf(csv, "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,learning_rate\n");
        for (const hn::epoch_report& r : fitter.history())
            std::fprintf(csv, "%zu,%.6f,%.6f,%.6f,%.6f,%.4f,%.6g\n", r.epoch, r.train_loss, r.train_accuracy,
                         r.validation_loss, r.validation_accuracy, r.seconds, r.learning_rate);
        std::fclose(csv);
    } else {
        std::fprintf(stderr, "%s: cannot write %s\n", s.program.c_str(), s.csv.c_str());
    }

    if (!s.save.empty()) {
        hn::io::save(*params, s.save);
        std::printf("parameters saved to %s\n", s.save.c_str());
    }

    double training_seconds = 0;
    for (const hn::epoch_report& r : fitter.history()) training_seconds += r.seconds;
    const double seconds_per_epoch = training_seconds / static_cast<double>(summary.epochs_run);

    // Batch-1 inference with the trained model: every test image once per round, median of
    // the rounds' per-image time; the predictions also re-check the test accuracy.
    auto run = std::make_unique<hn::inference<model>>();  // off the stack: a CNN's workspace is large
    const std::size_t timed = std::min(s.latency_images, test_set.size());
    std::vector<double> per_image;
    std::size_t correct = 0;
    for (int round = 0; round < 5; ++round) {
        std::size_t round_correct = 0;
        const auto start = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < timed; ++i) {
            const auto scores = (*run)(*params, std::span<const float, 784>(test_set.inputs.pixels.data() + i * 784, 784));
            const auto best = static_cast<std::uint32_t>(std::max_element(scores.begin(), scores.end()) - scores.begin());
            round_correct += best == test_set.labels[i];
        }
        per_image.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
                            static_cast<double>(timed));
        correct = round_correct;
    }
    std::sort(per_image.begin(), per_image.end());
    // The batch-1 predictions re-check the accuracy when they covered the whole test set.
    const double accuracy = timed == test_set.size()
                                ? 100.0 * static_cast<double>(correct) / static_cast<double>(test_set.size())
                                : 100.0 * fitter.history().back().validation_accuracy;
    if (timed == test_set.size())
        std::printf("\ntest accuracy        %.2f %%  (%zu of %zu)\n", accuracy, correct, test_set.size());
    else
        std::printf("\ntest accuracy        %.2f %%  (%zu images)\n", accuracy, test_set.size());
    std::printf("time per epoch       %.2f s  (%zu epochs, %.1f s training, %.1f s with evaluation)\n",
                seconds_per_epoch, summary.epochs_run, training_seconds, summary.seconds);
    std::printf("batch-1 latency      %.1f us per image (median of 5 passes over %zu test images)\n", per_image[2], timed);
    std::printf("learning curve       %s\n", s.csv.c_str());
    if (accuracy < s.min_accuracy) {
        std::fprintf(stderr, "%s: test accuracy %.2f %% is below the required %.2f %%\n", s.program.c_str(), accuracy,
                     s.min_accuracy);
        return 1;
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", defaults.program.c_str(), e.what());
    return 1;
}

}  // namespace fashion_mnist
