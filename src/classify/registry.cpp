#include <torch/torch.h>

#include "common.h"
#include "rkhs/classify/head.h"
#include "rkhs/classify/heads.h"
#include "rkhs/classify/kcl.h"

namespace rkhs::classify {

std::vector<std::string> head_names() {
  return {"softmax", "cosine", "kernelized", "sop", "kervo-poly", "kervo-rbf", "rbf", "rbf-learned", "poly", "mkl"};
}

std::shared_ptr<HeadImpl> make_head(const HeadOptions& options) {
  HeadOptions o = options;
  if (o.name == "lin") o.name = "cosine";
  if (o.name == "kcl") o.name = "kernelized";
  const auto& n = o.name;
  if (n == "softmax") return std::make_shared<SoftmaxHeadImpl>(o);
  if (n == "cosine") return std::make_shared<CosineHeadImpl>(o);
  if (n == "kernelized") return std::make_shared<KernelizedHeadImpl>(KernelizedOptions(o));
  if (n == "sop") return std::make_shared<SopHeadImpl>(o);
  if (n == "kervo-poly" || n == "kervo-rbf") return std::make_shared<KervoHeadImpl>(o);
  if (n == "rbf" || n == "rbf-learned" || n == "poly") return std::make_shared<SphereKernelHeadImpl>(o);
  if (n == "mkl") return std::make_shared<MklHeadImpl>(o);
  std::string known;
  for (const auto& h : head_names()) known += (known.empty() ? "" : ", ") + h;
  throw Error("unknown head '" + options.name + "' (known: " + known + "; aliases lin = cosine, kcl = kernelized)");
}

}  // namespace rkhs::classify
