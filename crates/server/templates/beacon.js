(function(){
var t={{ token_json|safe }},track={{ track }};var a=new Uint8Array(10);crypto.getRandomValues(a);
var pv=("00000000000"+Date.now().toString(16)).slice(-12)+Array.prototype.map.call(a,function(b){return("0"+b.toString(16)).slice(-2)}).join("");
var acc=0,since=null,sc=0,vs=0,vl=0,q=0,started=false;
function dwell(){return acc+(since===null?0:Date.now()-since)}
var retry=null,backoff=1000;
function body(){var b={t:t,pv:pv,dwell_ms:Math.round(dwell()),scroll_pct:sc};if(vl>0){b.video_s=Math.floor(vs);b.video_len_s=Math.round(vl)}return JSON.stringify(b)}
function post(b){return fetch("/t/beacon",{method:"POST",body:b,keepalive:true,credentials:"same-origin",headers:{"Content-Type":"text/plain"}})}
function beacon(b){try{if(navigator.sendBeacon&&navigator.sendBeacon("/t/beacon",new Blob([b],{type:"text/plain"})))return}catch(e){}try{post(b)}catch(e){}}
function again(){if(retry!==null)return;retry=setTimeout(function(){retry=null;send()},backoff);backoff=Math.min(backoff*2,30000)}
function send(){if(!track)return;if(!window.fetch){beacon(body());return}
try{post(body()).then(function(r){if(r.status===503||r.status===429)again();else backoff=1000},again)}catch(e){again()}}
function leave(){if(track)beacon(body())}
function pause(){if(since!==null){acc+=Date.now()-since;since=null}if(started)leave()}
function scroll(){var d=document.documentElement,h=Math.max(d.scrollHeight,document.body.scrollHeight),y=(window.pageYOffset||d.scrollTop)+window.innerHeight;
var p=h>0?Math.min(100,Math.round(y*100/h)):100;if(p>sc){sc=p;var nq=Math.floor(p/25);if(nq>q&&started){q=nq;send()}}}
function start(){if(started)return;scroll();q=Math.floor(sc/25);started=true;since=document.visibilityState==="hidden"?null:Date.now();send();
setInterval(function(){if(document.visibilityState==="visible")send()},5000);
document.addEventListener("visibilitychange",function(){if(document.visibilityState==="hidden")pause();else if(since===null)since=Date.now()});
window.addEventListener("pagehide",pause);window.addEventListener("scroll",scroll,{passive:true});
var v=document.querySelector("video");if(v){v.addEventListener("timeupdate",function(){if(v.duration&&isFinite(v.duration)){vl=v.duration;if(v.currentTime>vs)vs=v.currentTime}});
v.addEventListener("pause",send);v.addEventListener("ended",function(){vs=vl;send()})}}
window.wlTrack={pv:pv,send:send};
if(document.prerendering){document.addEventListener("prerenderingchange",start,{once:true})}else{start()}
})();
