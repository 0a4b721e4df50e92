# ELECTRA-Small with the focal generator loss (Hao et al. 2021): (1 - p(x))^gamma x CE at the masked tokens.
# gamma = 1 is a beitmm choice (the paper's value could not be checked); gamma = 0 is the plain baseline.
_base_ = ['./electra-small_plain_text.py']
model = dict(generator_loss=dict(gamma=1.0))
