// hinge side of the PyTorch parity test (tests/parity/run_parity.sh runs torch_parity.py export,
// then this, then torch_parity.py check).
//
// For every model of torch_parity.py (MLPs with every activation, batch_norm and layer_norm; CNNs
// with conv2d/conv1d, grouped and depthwise conv2d, pooling, batch_norm per channel and after
// flatten, layer_norm per position, prelu per channel, flatten, dropout and global_avg_pool;
// sequence models: nn.GRU and nn.LSTM with every step or the last one, stacked and num_layers = 2,
// H = 1, odd and past a panel, causal dilated convolutions, grouped and depthwise too, layer_norm
// per step before a GRU; graphs: a gated WaveNet block with residuals and a skip sum, a GLU MLP, a
// GRU whose output a second input modulates (FiLM)):
// load the torch.nn.Sequential state_dict from safetensors,
// run hinge on the same inputs, and compare with what PyTorch computed, in float against PyTorch's
// float32 run (tolerance 1e-5) and in double against its float64 run (1e-10): outputs, the input
// gradient, every parameter gradient and, in train mode, the running statistics after the step;
// models that stream (hinge::stream) also one step at a time against torch's whole-sequence run.
// The loss is L = sum(y * g), so hinge seeds the backward pass with dL/dy = g.
// Error measure per tensor: max |hinge - torch| / max |torch|, except for a bias gradient, which is
// measured against the larger of its own and its layer's weight gradient: the bias of a dense
// layer followed by batch_norm has a gradient of exactly 0 in exact arithmetic (the normalisation
// removes any shift), so both sides hold rounding noise of the size of the terms that cancelled,
// and those terms are the weight gradient's.
//
// Then the other direction: hinge writes its own parameters (<model>.hinge.safetensors), its
// outputs for them (<model>.hinge_out.safetensors) and the torch parameters it loaded
// (<model>.roundtrip.safetensors), for torch_parity.py check.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <hinge/hinge.hpp>
#include <hinge/io/safetensors.hpp>

namespace hn = hinge;
namespace io = hinge::io;

namespace {

constexpr std::size_t batch = 8, input = 6, hidden1 = 20, hidden2 = 12, output = 5;

template <class Act>
using mlp = hn::network<hn::input<input>, hn::dense<hidden1>, Act, hn::dense<hidden2>, Act, hn::dense<output>>;
using bn_mlp = hn::network<hn::input<input>, hn::dense<hidden1>, hn::batch_norm, hn::relu, hn::dense<hidden2>,
                           hn::batch_norm, hn::prelu, hn::dense<output>>;

// The convolutional models of torch_parity.py (shapes there). hinge's inputs are channels last:
// the data files hold x and dx permuted from PyTorch's NCHW / NCL to NHWC / NLC.
using cnn2d = hn::network<hn::input<9, 11, 2>, hn::conv2d<4, 3>, hn::relu, hn::max_pool2d<2>,
                          hn::conv2d<6, 3, 1, hn::padding::valid>, hn::leaky_relu<0.01f>, hn::flatten, hn::dense<10>,
                          hn::relu, hn::dense<5>>;
using cnn2d_bn = hn::network<hn::input<8, 8, 3>, hn::conv2d<5, 3, 2, hn::padding::valid>, hn::batch_norm, hn::prelu,
                             hn::conv2d<6, 1>, hn::tanh, hn::flatten, hn::batch_norm, hn::dropout<0.0f>, hn::dense<7>,
                             hn::relu, hn::dense<3>>;
using cnn2d_global = hn::network<hn::input<7, 9, 2>, hn::conv2d<4, 3>, hn::relu, hn::avg_pool2d<2>, hn::conv2d<6, 3>,
                                 hn::relu, hn::global_avg_pool, hn::dense<3>>;
using cnn1d = hn::network<hn::input<13, 3>, hn::conv1d<5, 3>, hn::relu, hn::max_pool1d<2>,
                          hn::conv1d<6, 3, 1, hn::padding::valid, 2>, hn::silu, hn::flatten, hn::dense<4>>;

// The sequence models (torch_parity.py: nn.GRU / nn.LSTM with batch_first, CausalConv1d).
using gru_steps = hn::network<hn::input<7, 3>, hn::gru<5>, hn::dense<2>>;
using gru_last = hn::network<hn::input<5, 2>, hn::gru<1, hn::returns::last_step>, hn::dense<3>>;
using lstm_stacked = hn::network<hn::input<6, 1>, hn::lstm<17>, hn::lstm<4>, hn::dense<1>>;
using lstm_last = hn::network<hn::input<5, 4>, hn::lstm<9, hn::returns::last_step>, hn::dense<2>>;
using gru_two_layers = hn::network<hn::input<6, 2>, hn::gru<6>, hn::gru<6>, hn::dense<1>>;  // nn.GRU(num_layers=2)
using causal_stack = hn::network<hn::input<16, 1>, hn::conv1d<4, 2, 1, hn::padding::causal>, hn::tanh,
                                 hn::conv1d<4, 2, 1, hn::padding::causal, 2>, hn::tanh,
                                 hn::conv1d<3, 3, 1, hn::padding::causal, 4>, hn::dense<1>>;
using causal_gru = hn::network<hn::input<11, 2>, hn::conv1d<5, 3, 1, hn::padding::causal, 2>, hn::relu, hn::gru<7>,
                               hn::dense<2>>;
using causal_grouped = hn::network<hn::input<16, 4>, hn::conv1d<8, 2, 1, hn::padding::causal, 1, 4>, hn::tanh,
                                   hn::conv1d<8, 3, 1, hn::padding::causal, 2, 2>, hn::tanh,
                                   hn::conv1d<8, 2, 1, hn::padding::causal, 4, 8>, hn::relu, hn::dense<2>>;
using layer_norm_gru = hn::network<hn::input<7, 3>, hn::dense<6>, hn::layer_norm, hn::gru<5>, hn::dense<2>>;

// Grouped and depthwise convolutions (nn.Conv2d with groups), and layer_norm (nn.LayerNorm(C); per
// position of an image, torch_parity.py permutes to channels last around it).
using grouped_cnn2d = hn::network<hn::input<9, 11, 4>, hn::conv2d<6, 3, 1, hn::padding::same, 1, 2>, hn::relu,
                                  hn::conv2d<9, 3, 2, hn::padding::valid, 1, 3>, hn::tanh,
                                  hn::conv2d<24, 1, 1, hn::padding::valid, 1, 3>, hn::flatten, hn::dense<3>>;
using depthwise_cnn2d = hn::network<hn::input<8, 10, 3>, hn::conv2d<6, 3, 1, hn::padding::same, 1, 3>, hn::relu6,
                                    hn::conv2d<6, 3, 1, hn::padding::same, 2, 6>, hn::relu,
                                    hn::conv2d<8, 1, 1, hn::padding::valid>, hn::silu, hn::global_avg_pool, hn::dense<3>>;
using layer_norm_mlp = hn::network<hn::input<input>, hn::dense<hidden1>, hn::layer_norm, hn::relu, hn::dense<hidden2>,
                                   hn::layer_norm, hn::prelu, hn::dense<output>>;
using layer_norm_cnn = hn::network<hn::input<7, 9, 2>, hn::conv2d<6, 3>, hn::layer_norm, hn::relu, hn::max_pool2d<2>,
                                   hn::conv2d<4, 3, 1, hn::padding::valid>, hn::flatten, hn::dense<3>>;

// Graphs (torch_parity.py: WaveNetBlock, GluMlp, FilmGru, whose modules carry hinge's numbers).
template <std::size_t Dilation>
using wavenet_layer = hn::sequential<hn::tap<"in">, hn::conv1d<8, 3, 1, hn::padding::causal, Dilation>,
                                     hn::gated<hn::tanh, hn::sigmoid>, hn::accumulate<"skip">, hn::conv1d<4, 1>,
                                     hn::add<"in">>;
using wavenet_block = hn::network<hn::input<16, 1>, hn::conv1d<4, 1>, wavenet_layer<1>, wavenet_layer<2>, hn::tap<"in">,
                                  hn::conv1d<8, 3, 1, hn::padding::causal, 4>, hn::gated<hn::tanh, hn::sigmoid>,
                                  hn::accumulate<"skip">, hn::from<"skip">, hn::conv1d<1, 1>>;
using glu_mlp = hn::network<hn::input<5>, hn::dense<8>, hn::glu, hn::dense<6>, hn::glu, hn::dense<2>>;
using film_gru = hn::network<hn::input<9, 2>, hn::slice<1, 1>, hn::dense<8>, hn::tanh, hn::tap<"film">,
                             hn::from<"input">, hn::slice<0, 1>, hn::gru<4>, hn::film<"film">, hn::dense<2>>;

// How each model's tensors are named in torch's state_dict (default: nn.Sequential numbering).
template <class Net>
io::safetensors_options names_of() {
    if constexpr (std::is_same_v<Net, gru_two_layers>) return {io::multilayer_recurrent_names<Net, 0, 2>()};
    else return {};
}

// Every output value of the last pass, in torch's row-major order: [batch, out] or [batch, L, C].
template <class Net, std::size_t B, class T, bool Training>
std::vector<T> outputs(const hn::workspace<Net, B, T, Training>& ws) {
    std::vector<T> y;
    for (std::size_t s = 0; s < B; ++s)
        for (std::size_t t = 0; t < Net::output_positions; ++t) {
            const T* row = ws.template activation<Net::stage_count - 1>() +
                           (s * Net::output_positions + t) * ws.template activation_stride<Net::stage_count - 1>;
            y.insert(y.end(), row, row + Net::output_channels);
        }
    return y;
}

struct report {
    double worst = 0;
    std::string worst_name;
    std::string detail;
    void add(const std::string& name, double error) {
        char text[96];
        std::snprintf(text, sizeof text, " %s %.1e", name.c_str(), error);
        detail += text;
        if (error >= worst) worst = error, worst_name = name;
    }
};

template <class T>
double relative_error(const std::vector<T>& hinge_values, const std::vector<T>& torch_values, double scale = 1e-30) {
    double diff = 0;
    for (std::size_t k = 0; k < torch_values.size(); ++k) {
        diff = std::max(diff, std::abs(double(hinge_values[k]) - double(torch_values[k])));
        scale = std::max(scale, std::abs(double(torch_values[k])));
    }
    return hinge_values.size() == torch_values.size() ? diff / scale : INFINITY;
}

template <class Block>
std::vector<typename Block::value_type> logical(const Block& block, const io::tensor_slot& t) {
    std::vector<typename Block::value_type> v(t.count);
    for (std::size_t k = 0; k < t.count; ++k) v[k] = block.data()[t.element(k)];
    return v;
}

// Compares hinge in precision T with torch's run of the same precision; returns the worst error.
template <class Net, class T>
report compare(const std::string& dir, const std::string& name, bool train) {
    const std::string tag = sizeof(T) == 4 ? "" : "64";
    constexpr std::size_t input = Net::input_size;
    auto params = std::make_unique<hn::parameters<Net, T>>();
    io::load_safetensors(*params, dir + "/" + name + ".params.safetensors", names_of<Net>());
    const io::safetensors_document data = io::read_safetensors(dir + "/" + name + ".data.safetensors");
    const std::vector<T> x = data.file.values<T>("x");
    const std::vector<T> g = data.file.values<T>("g");
    auto ws = std::make_unique<hn::workspace<Net, batch, T, true>>();
    report r;
    if (!train) {
        hn::forward(*params, *ws, x.data(), batch);
    } else {
        hn::train_forward(*params, *ws, x.data(), batch, 0);
    }
    const std::vector<T> torch_y = data.file.values<T>("y" + tag);
    r.add("y", relative_error(outputs(*ws), torch_y));
    if constexpr (Net::input_shape::rank == 2 && Net::output_positions == Net::input_shape::dimension(0)) {
        // A model that streams: one step at a time, each sample its own stream, gives torch's
        // whole-sequence outputs.
        if constexpr (requires { hn::stream<Net, T>{}; }) {
            std::vector<T> streamed;
            for (std::size_t s = 0; s < batch; ++s) {
                auto st = std::make_unique<hn::stream<Net, T>>();
                std::vector<T> y(Net::output_size);
                st->process(*params, std::span<const T>(x.data() + s * input, input), y);
                streamed.insert(streamed.end(), y.begin(), y.end());
            }
            r.add("streamed y", relative_error(streamed, torch_y));
        }
    }
    if (train) {
        auto grads = std::make_unique<hn::gradients<Net, T>>();
        hn::seed_output_gradient(*params, *ws, *grads, batch,
                                 [&](std::size_t r, std::size_t j) { return g[r * Net::output_channels + j]; });
        hn::backward(*params, *ws, x.data(), *grads, batch, hn::input_gradient::compute);
        std::vector<T> dx(batch * input);
        for (std::size_t s = 0; s < batch; ++s) std::copy_n(ws->input_gradient(s).data(), input, dx.begin() + s * input);
        r.add("dx", relative_error(dx, data.file.values<T>("dx" + tag)));
        const std::vector<io::tensor_slot> table = io::tensor_table<Net, T>();
        const std::vector<std::string> file_names = names_of<Net>().names.of(table);
        for (std::size_t slot = 0; slot < table.size(); ++slot) {
            const io::tensor_slot& t = table[slot];
            const std::string& file_name = file_names[slot];
            if (t.trainable && t.role == io::tensor_role::bias) {
                // Its weight: "<k>.weight" for "<k>.bias", "<k>.weight_ih_l0" for "<k>.bias_ih_l0".
                std::string weight_name = file_name;
                weight_name.replace(weight_name.rfind("bias"), 4, "weight");
                double weight_scale = 0;
                for (T v : data.file.values<T>("grad" + tag + "." + weight_name))
                    weight_scale = std::max(weight_scale, std::abs(double(v)));
                r.add("d" + file_name, relative_error(logical(*grads, t),
                                                      data.file.values<T>("grad" + tag + "." + file_name), weight_scale));
            } else if (t.trainable)
                r.add("d" + file_name, relative_error(logical(*grads, t), data.file.values<T>("grad" + tag + "." + file_name)));
            else  // train_forward updated the running statistics in params
                r.add(file_name, relative_error(logical(*params, t), data.file.values<T>("after" + tag + "." + file_name)));
        }
    }
    return r;
}

// hinge -> PyTorch: parameters hinge chose, with every tensor non-trivial, and their outputs.
template <class Net>
void export_hinge(const std::string& dir, const std::string& name) {
    constexpr std::size_t input = Net::input_size;
    auto params = std::make_unique<hn::parameters<Net>>();
    hn::init::he_normal(*params, 77);
    std::size_t n = 0;
    for (const io::tensor_slot& t : io::tensor_table<Net, float>()) {
        if (t.role == io::tensor_role::weight) continue;
        for (std::size_t k = 0; k < t.count; ++k, ++n) {
            const float u = 0.5f * std::sin(0.7f * float(n) + 0.3f);
            float& v = params->data()[t.element(k)];
            v = t.role == io::tensor_role::running_variance ? 0.6f + u * u
                : t.role == io::tensor_role::scale          ? 1.0f + u
                : t.role == io::tensor_role::slope          ? 0.25f + 0.3f * u
                                                            : u;
        }
    }
    io::save_safetensors(*params, dir + "/" + name + ".hinge.safetensors", names_of<Net>());
    std::vector<float> x(batch * input);
    for (std::size_t k = 0; k < x.size(); ++k) x[k] = 1.3f * std::cos(1.1f * float(k));
    auto ws = std::make_unique<hn::workspace<Net, batch, float, false>>();
    hn::forward(*params, *ws, x.data(), batch);
    const std::vector<float> y = outputs(*ws);
    io::safetensors_writer out;
    std::vector<std::uint64_t> x_shape{batch};  // channels last: [batch, H, W, C] or [batch, L, C]
    for (std::size_t d = 0; d < Net::input_shape::rank; ++d) x_shape.push_back(Net::input_shape::dimension(d));
    std::vector<std::uint64_t> y_shape{batch};  // [batch, out] or [batch, L, C]
    if (Net::output_positions > 1) y_shape.push_back(Net::output_positions);
    y_shape.push_back(Net::output_channels);
    out.add<float>("x", x_shape, x);
    out.add<float>("y", y_shape, y);
    out.write(dir + "/" + name + ".hinge_out.safetensors");

    // PyTorch -> hinge -> PyTorch: the torch parameters, written back by hinge.
    auto loaded = std::make_unique<hn::parameters<Net>>();
    io::load_safetensors(*loaded, dir + "/" + name + ".params.safetensors", names_of<Net>());
    io::save_safetensors(*loaded, dir + "/" + name + ".roundtrip.safetensors", names_of<Net>());
}

int failures = 0, models = 0;

template <class Net>
void model(const std::string& dir, const std::string& name, bool train = true) {
    ++models;
    try {
        const report f = compare<Net, float>(dir, name, train);
        const report d = compare<Net, double>(dir, name, train);
        export_hinge<Net>(dir, name);
        const bool ok = f.worst <= 1e-5 && d.worst <= 1e-10;
        failures += !ok;
        std::printf("  %-18s float: max rel. error %.2e (%s)  double: %.2e (%s)  %s\n", name.c_str(), f.worst,
                    f.worst_name.c_str(), d.worst, d.worst_name.c_str(), ok ? "ok" : "FAIL");
        if (!ok) std::printf("      float:%s\n      double:%s\n", f.detail.c_str(), d.detail.c_str());
    } catch (const std::exception& e) {
        ++failures;
        std::printf("  %-18s FAIL: %s\n", name.c_str(), e.what());
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR (written by torch_parity.py export DIR)\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    std::printf("hinge vs PyTorch (batch %zu; MLPs %zu-%zu-%zu-%zu, CNNs; tolerance 1e-5 float, 1e-10 double)\n",
                batch, input, hidden1, hidden2, output);
    model<mlp<hn::relu>>(dir, "relu");
    model<mlp<hn::leaky_relu<0.01f>>>(dir, "leaky_relu");
    model<mlp<hn::prelu>>(dir, "prelu");
    model<mlp<hn::elu<1.0f>>>(dir, "elu");
    model<mlp<hn::selu>>(dir, "selu");
    model<mlp<hn::gelu>>(dir, "gelu");
    model<mlp<hn::gelu_tanh>>(dir, "gelu_tanh");
    model<mlp<hn::silu>>(dir, "silu");
    model<mlp<hn::softplus>>(dir, "softplus");
    model<mlp<hn::relu6>>(dir, "relu6");
    model<mlp<hn::hard_swish>>(dir, "hardswish");
    model<mlp<hn::sigmoid>>(dir, "sigmoid");
    model<mlp<hn::tanh>>(dir, "tanh");
    model<bn_mlp>(dir, "batch_norm_train", true);
    model<bn_mlp>(dir, "batch_norm_eval", false);
    model<cnn2d>(dir, "cnn2d");
    model<cnn2d_bn>(dir, "cnn2d_bn_train", true);
    model<cnn2d_bn>(dir, "cnn2d_bn_eval", false);
    model<cnn2d_global>(dir, "cnn2d_global");
    model<cnn1d>(dir, "cnn1d");
    model<gru_steps>(dir, "gru_steps");
    model<gru_last>(dir, "gru_last");
    model<lstm_stacked>(dir, "lstm_stacked");
    model<lstm_last>(dir, "lstm_last");
    model<gru_two_layers>(dir, "gru_two_layers");
    model<causal_stack>(dir, "causal_stack");
    model<causal_gru>(dir, "causal_gru");
    model<causal_grouped>(dir, "causal_grouped");
    model<layer_norm_gru>(dir, "layer_norm_gru");
    model<grouped_cnn2d>(dir, "grouped_cnn2d");
    model<depthwise_cnn2d>(dir, "depthwise_cnn2d");
    model<layer_norm_mlp>(dir, "layer_norm_mlp");
    model<layer_norm_cnn>(dir, "layer_norm_cnn");
    model<wavenet_block>(dir, "wavenet_block");
    model<glu_mlp>(dir, "glu_mlp");
    model<film_gru>(dir, "film_gru");
    std::printf("parity_check: %d of %d models failed\n", failures, models);
    return failures ? 1 : 0;
}
