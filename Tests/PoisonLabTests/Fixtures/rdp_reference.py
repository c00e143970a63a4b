#!/usr/bin/env python3
"""Reference values for PrivacyTests: the sampled Gaussian mechanism's RDP
(Mironov, Talwar & Zhang 2019, arXiv:1908.10530, Sec. 3.3) written
independently with SciPy, and the classic RDP -> (epsilon, delta) conversion.
Run it to print the goldens used in the tests."""
import math
from scipy import special
import numpy as np
def logadd(a,b):
    if a==-np.inf: return b
    if b==-np.inf: return a
    return max(a,b)+math.log1p(math.exp(-abs(a-b)))
def logsub(a,b):
    if b==-np.inf: return a
    if a==b: return -np.inf
    return a+math.log1p(-math.exp(b-a))
def log_erfc(x):
    return math.log(special.erfc(x)) if special.erfc(x)>0 else -x*x-math.log(x)-0.5*math.log(math.pi)
def log_a_int(q,s,a):
    la=-np.inf
    for i in range(int(a)+1):
        c=math.log(special.binom(a,i))+i*math.log(q)+(a-i)*math.log(1-q)
        la=logadd(la,c+(i*i-i)/(2*s*s))
    return la
def log_a_frac(q,s,a):
    a0=a1=-np.inf; i=0; z0=s*s*math.log(1/q-1)+.5
    while True:
        coef=special.binom(a,i); lc=math.log(abs(coef)); j=a-i
        t0=lc+i*math.log(q)+j*math.log(1-q); t1=lc+j*math.log(q)+i*math.log(1-q)
        e0=math.log(.5)+log_erfc((i-z0)/(math.sqrt(2)*s)); e1=math.log(.5)+log_erfc((z0-j)/(math.sqrt(2)*s))
        s0=t0+(i*i-i)/(2*s*s)+e0; s1=t1+(j*j-j)/(2*s*s)+e1
        if coef>0: a0=logadd(a0,s0); a1=logadd(a1,s1)
        else: a0=logsub(a0,s0); a1=logsub(a1,s1)
        i+=1
        if max(s0,s1)<-30: break
    return logadd(a0,a1)
def rdp(q,s,a):
    return (log_a_int(q,s,a) if float(a).is_integer() else log_a_frac(q,s,a))/(a-1)
orders=[1+x/10 for x in range(1,100)]+list(range(12,64))
def epsilon(q,s,steps,d):
    r=[rdp(q,s,a)*steps for a in orders]
    return min((ri-math.log(d)/(a-1),a) for ri,a in zip(r,orders))
print('rdp(0.01, 1.1, 2.5) =', repr(rdp(0.01,1.1,2.5)))
print('rdp(0.01, 1.1, 8) =', repr(rdp(0.01,1.1,8)))
print('epsilon(0.01, 1.1, 1000, 1e-5) =', epsilon(0.01,1.1,1000,1e-5))
print('epsilon(0.1, 4.0, 500, 1e-6) =', epsilon(0.1,4.0,500,1e-6))
