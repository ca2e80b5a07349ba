#pragma once
// Neural Amp Modeler's LSTM as a hinge type, and the loading of a .nam file's weights into it.
//
// NAM's LSTM: num_layers stacked LSTM cells (PyTorch's equations and gate order i, f, g, o) over
// the input sample, and a dense head on the last layer's h. Per layer the file holds
// W [4H, In + H] row-major (the columns: the layer's input, then h), b [4H], then the initial h
// [H] and c [H]; after the layers, the head's weight [H] and bias. In hinge that is
//
//   network<input<L, 1>, lstm<H>, ..., lstm<H>, dense<1>>
//
// with W's input columns as hinge's weight_ih, its h columns as weight_hh, b as bias_ih and
// bias_hh = 0. The initial state is not a parameter in hinge (a stream starts from zero), so
// load() returns it and start() puts it into a stream's state (or a workspace's):
//
//   namespace nam = hinge::nam;
//   using model = nam::lstm_model<3>;
//   using net = model::network<1>;
//   auto params = std::make_unique<hinge::parameters<net>>();
//   const model::initial_state init = model::load(nam::read_model_file("lstm.nam"), *params);
//   hinge::stream<net> s;
//   model::start(s, init);                                   // after every reset() too
//   nam::prewarm(s, *params, model::prewarm_samples(48000));
//
// model::fast, nam::fast_lstm<H> in place of lstm<H>: NAM's fast-tanh mode, in which every
// sigmoid of the cell is (fast_tanh(x / 2) + 1) / 2 and every tanh is fast_tanh.
#include <array>
#include <cstddef>
#include <string>
#include <type_traits>

#include <hinge/core/network.hpp>
#include <hinge/core/sequential.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/detail/index_loop.hpp>
#include <hinge/layers/dense.hpp>
#include <hinge/layers/lstm.hpp>
#include <hinge/layers/recurrent.hpp>
#include <hinge/nam/fast_tanh.hpp>
#include <hinge/nam/file.hpp>
#include <hinge/nam/prewarm.hpp>
#include <hinge/runtime/stream.hpp>

namespace hinge::nam {

// lstm<Hidden> with NAM's fast-tanh gate functions. The backward pass is lstm's (derivatives from
// the stored gate values), close enough to fine-tune a model that will run with these.
template <std::size_t Hidden>
struct fast_lstm : hinge::detail::recurrent_stage<fast_lstm<Hidden>, Hidden, returns::all_steps> {
    static constexpr const char* name = "nam_fast_lstm";  // in architecture descriptions
    static constexpr std::size_t gates = 4;
    static constexpr bool has_cell_state = true;
    static constexpr bool same_pre_activation_gradients = true;

    static constexpr std::array<bool, 4> summed_gates = lstm<Hidden>::summed_gates;

    template <class V>
    static void forward_step(const V (&s)[4], const V (&/*r*/)[4], V /*h_prev*/, V c_prev, V (&gate)[4], V& extra,
                             V& h, V& c) noexcept {
        gate[0] = fast_sigmoid(s[0]);
        gate[1] = fast_sigmoid(s[1]);
        gate[2] = fast_tanh::forward(s[2]);
        gate[3] = fast_sigmoid(s[3]);
        c = gate[1] * c_prev + gate[0] * gate[2];
        extra = c;
        h = gate[3] * fast_tanh::forward(c);
    }
    template <class V>
    static void backward_step(const V (&gate)[4], V extra, V h_prev, V c_prev, V dh, V& dc, V (&da)[4], V (&dr)[4],
                              V& dh_direct) noexcept {
        lstm<Hidden>::backward_step(gate, extra, h_prev, c_prev, dh, dc, da, dr, dh_direct);
    }
};

template <std::size_t Hidden, std::size_t Layers = 1, bool Fast = false>
struct lstm_model {
    static_assert(Hidden > 0 && Layers > 0, "nam::lstm_model<Hidden, Layers>: both must be at least 1");
    static constexpr std::size_t hidden = Hidden;
    static constexpr std::size_t layers = Layers;
    using cell = std::conditional_t<Fast, fast_lstm<Hidden>, lstm<Hidden>>;

    template <std::size_t Length>
    using network = hinge::network<input<Length, 1>, repeat<Layers, cell>, dense<1>>;

    // The same model in NAM's fast-tanh mode.
    using fast = lstm_model<Hidden, Layers, true>;

    static constexpr lstm_config config() { return {1, Hidden, Layers}; }

    static constexpr std::size_t weight_count = [] {
        std::size_t n = Hidden + 1;
        for (std::size_t l = 0; l < Layers; ++l)
            n += 4 * Hidden * ((l == 0 ? 1 : Hidden) + Hidden) + 4 * Hidden + 2 * Hidden;
        return n;
    }();

    // NAM's prewarm of an LSTM: half a second of zeros from the stored initial state.
    static constexpr std::size_t prewarm_samples(double sample_rate) noexcept {
        return static_cast<std::size_t>(0.5 * sample_rate);
    }

    // The state NAM stores in the file, per layer: h, then c.
    struct initial_state {
        std::array<std::array<float, Hidden>, Layers> h{}, c{};
    };

    // Checks f against this type, then writes params and returns the stored initial state. On a
    // mismatch it throws io::file_error naming the difference, and params are untouched.
    template <class Net, class T>
    static initial_state load(const model_file& f, parameters<Net, T>& params) {
        static_assert(std::is_same_v<Net, network<Net::input_shape::dimension(0)>>,
                      "nam::lstm_model::load: params must be parameters<model::network<L>>, because the weights are "
                      "placed by that network's stages");
        check(f);
        initial_state init;
        std::size_t at = 0;
        for_each_index<Layers>([&](auto index) {
            constexpr std::size_t l = decltype(index)::value;
            constexpr std::size_t in = l == 0 ? 1 : Hidden;
            const auto view = params.template layer<l>();
            for (std::size_t row = 0; row < 4 * Hidden; ++row) {
                for (std::size_t i = 0; i < in; ++i)
                    view.weight_ih(row, i) = static_cast<T>(f.weights[at + row * (in + Hidden) + i]);
                for (std::size_t j = 0; j < Hidden; ++j)
                    view.weight_hh(row, j) = static_cast<T>(f.weights[at + row * (in + Hidden) + in + j]);
            }
            at += 4 * Hidden * (in + Hidden);
            for (std::size_t row = 0; row < 4 * Hidden; ++row) {
                view.bias_ih(row) = static_cast<T>(f.weights[at + row]);
                view.bias_hh(row) = T(0);  // NAM has one bias per gate row
            }
            at += 4 * Hidden;
            for (std::size_t j = 0; j < Hidden; ++j) init.h[l][j] = f.weights[at + j];
            at += Hidden;
            for (std::size_t j = 0; j < Hidden; ++j) init.c[l][j] = f.weights[at + j];
            at += Hidden;
        });
        const auto head = params.template layer<Layers>();
        for (std::size_t j = 0; j < Hidden; ++j) head.weight(0, j) = static_cast<T>(f.weights[at + j]);
        head.bias(0) = static_cast<T>(f.weights[at + Hidden]);
        return init;
    }

    // The inverse of load: params and an initial state (zeros by default: a stream's start) as a
    // .nam model (write it with nam::write_model_file). NAM has one bias per gate row: it gets
    // bias_ih + bias_hh. Set the file's sample_rate and metadata_json before writing.
    template <class Net, class T>
    static model_file save(const parameters<Net, T>& params, const initial_state& init = {}) {
        static_assert(std::is_same_v<Net, network<Net::input_shape::dimension(0)>>,
                      "nam::lstm_model::save: params must be parameters<model::network<L>>, because the weights are "
                      "placed by that network's stages");
        model_file f;
        f.version = "0.5.4";
        f.architecture = "LSTM";
        f.lstm = config();
        f.metadata_json = "null";
        f.weights.reserve(weight_count);
        for_each_index<Layers>([&](auto index) {
            constexpr std::size_t l = decltype(index)::value;
            constexpr std::size_t in = l == 0 ? 1 : Hidden;
            const auto view = params.template layer<l>();
            for (std::size_t row = 0; row < 4 * Hidden; ++row) {
                for (std::size_t i = 0; i < in; ++i) f.weights.push_back(static_cast<float>(view.weight_ih(row, i)));
                for (std::size_t j = 0; j < Hidden; ++j) f.weights.push_back(static_cast<float>(view.weight_hh(row, j)));
            }
            for (std::size_t row = 0; row < 4 * Hidden; ++row)
                f.weights.push_back(static_cast<float>(view.bias_ih(row) + view.bias_hh(row)));
            for (std::size_t j = 0; j < Hidden; ++j) f.weights.push_back(init.h[l][j]);
            for (std::size_t j = 0; j < Hidden; ++j) f.weights.push_back(init.c[l][j]);
        });
        const auto head = params.template layer<Layers>();
        for (std::size_t j = 0; j < Hidden; ++j) f.weights.push_back(static_cast<float>(head.weight(0, j)));
        f.weights.push_back(static_cast<float>(head.bias(0)));
        return f;
    }

    // Throws io::file_error when f is not this model.
    static void check(const model_file& f) {
        if (f.architecture != "LSTM" || !f.lstm)
            refuse(f, "architecture \"" + f.architecture + "\", the compiled type is an LSTM");
        expect_config(f, "config.input_size", f.lstm->input_size, 1);
        expect_config(f, "config.hidden_size", f.lstm->hidden_size, Hidden);
        expect_config(f, "config.num_layers", f.lstm->num_layers, Layers);
        expect_config(f, "the weight count", f.weights.size(), weight_count);
    }

    // Puts the initial state into a sequence state of network<L> (a stream's or a workspace's),
    // for sample `row`. The state's other stages (none in this network) are left as they are.
    template <class Net, std::size_t Batch, class T>
    static void start(sequence_state<Net, Batch, T>& state, const initial_state& init, std::size_t row = 0) noexcept {
        using L = layout<Net, T>;
        constexpr std::size_t hp = round_up(Hidden, panel_width<T>);
        T* base = state.sample(row);
        for (std::size_t l = 0; l < Layers; ++l) {
            // Carried per recurrent stage: h in the first hp values, c in the next (layers/recurrent.hpp).
            T* s = base + L::stages[l].state_offset;
            for (std::size_t j = 0; j < Hidden; ++j) {
                s[j] = static_cast<T>(init.h[l][j]);
                s[hp + j] = static_cast<T>(init.c[l][j]);
            }
        }
    }
    template <class Net, class T>
    static void start(stream<Net, T>& s, const initial_state& init) noexcept {
        s.reset();
        auto state = s.state();
        start(state, init);
        s.restore(state);
    }
};

}  // namespace hinge::nam
