(function(){var f=document.getElementById("wl-forward");if(f)f.addEventListener("click",function(){
fetch("/t/forward",{method:"POST",credentials:"same-origin",headers:{"Content-Type":"application/json"},body:JSON.stringify({t:f.getAttribute("data-t")})})
.then(function(r){return r.json()}).then(function(j){if(!j.url)return;var u=document.getElementById("wl-forward-url");u.value=j.url;document.getElementById("wl-forward-box").hidden=false;u.select()})});
var c=document.getElementById("wl-copy");if(c)c.addEventListener("click",function(){var u=document.getElementById("wl-forward-url");u.select();try{document.execCommand("copy")}catch(e){}});
var form=document.getElementById("wl-form");if(!form)return;form.addEventListener("submit",function(ev){ev.preventDefault();
var m=document.getElementById("wl-form-msg");m.className="";var body=new URLSearchParams(new FormData(form)).toString();
fetch("/t/lead",{method:"POST",credentials:"same-origin",headers:{"Content-Type":"application/x-www-form-urlencoded","Accept":"application/json"},body:body})
.then(function(r){return r.json().then(function(j){return{ok:r.ok,j:j}})}).then(function(x){
if(x.ok){var d=document.createElement("div");d.id="wl-thanks";d.textContent=x.j.message;form.replaceWith(d)}else{m.className="error";m.textContent=x.j.message}})
.catch(function(){m.className="error";m.textContent=form.getAttribute("data-offline")||"网络错误，请重试 / Network error, please retry"})})})();
