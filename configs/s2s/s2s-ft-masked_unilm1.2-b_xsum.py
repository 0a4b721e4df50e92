# s2s-ft masked fine-tuning (v1, UniLM v1 style): target tokens corrupted 80/10/10 and predicted in place,
# min(num_max_mask_token, int(0.5 * m)) >= 1 of them. The recipe is the XSum one of the pseudo-masked config;
# num_max_mask_token=24 (half the 48 target tokens; s2s-ft needs it > 0) is a beitmm choice. No official number.
_base_ = ['./s2s-ft-pseudo-masked_unilm1.2-b_xsum.py']
model = dict(algorithm='masked', num_max_mask_token=24)
