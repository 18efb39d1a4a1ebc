// Uses the installed umbrella header: a gradient through the public API.
#include <marrow/marrow.h>

#include <cstdio>

int main() {
    using namespace marrow;
    Tensor x = from_vector<float>({1, 2, 3});
    x.requires_grad_();
    Tensor y = sum(x * x);
    y.backward();
    Tensor g = x.grad();  // 2x
    bool ok = y.item() == 14.0 && g.data<float>()[2] == 6.0f;
    std::printf("consumer: y = %g, dy/dx[2] = %g: %s\n", y.item(), double(g.data<float>()[2]),
                ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
