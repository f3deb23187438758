document.querySelector('h1').textContent += ' (' + new Date().getFullYear() + ')';
