# ELECTRA-Small with both fixes of Hao et al. 2021: hardness-aware sampling and the focal generator loss.
_base_ = ['./electra-small_hardness_text.py']
model = dict(generator_loss=dict(gamma=1.0))  # (choice)
